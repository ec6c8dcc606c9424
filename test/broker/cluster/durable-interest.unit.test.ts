/**
 * cluster/durable-interest.ts against one real nats-server with JetStream (the module is about the
 * stream): two nodes' DurableInterest learn each other's filters, counts per filter, a node started
 * later loads the records before start() resolves, a restarted node rewrites its own records, and
 * hostile records in the stream (wrong key, bad filter, shared filter, bad token, oversized) are ignored.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {DurableInterest, durableInterestStreamName} from '../../../src/broker/cluster/durable-interest.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {waitFor} from '../../helpers/mqtt.js'
import {useNats} from './unit-nats.js'

const running: DurableInterest[] = []
let n = 0
const nats = useNats({jetstream: true}, async () => void (await Promise.all(running.splice(0).map((d) => d.stop()))))
const nc = () => nats.connect()

async function node(prefix: string, token: string): Promise<DurableInterest> {
  const d = new DurableInterest()
  await d.start(await nc(), prefix, token, 1, memoryLogger('warn'))
  running.push(d)
  return d
}
const key = (filter: string) => createHash('sha256').update(filter).digest('base64url')
const prefix = () => `dint${n++}`

describe('DurableInterest', () => {
  it('names its stream after the prefix, dots made underscores', () => {
    expect(durableInterestStreamName()).toBe('MQTT_DINT_mqtt')
    expect(durableInterestStreamName('site1.mqtt')).toBe('MQTT_DINT_site1_mqtt')
  })

  it('a filter one node adds is wanted by that node on the other, never by itself, and goes with its last subscriber', async () => {
    const p = prefix()
    const a = await node(p, 'nodeA')
    const b = await node(p, 'nodeB')
    a.added('dev/+/state')
    a.added('dev/+/state') // a second persistent session on the same filter
    await waitFor(() => b.wanting('dev/7/state').length > 0, 5000, 'B to learn A\'s filter')
    expect(b.wanting('dev/7/state')).toEqual(['nodeA'])
    expect(a.wanting('dev/7/state')).toEqual([])
    expect(b.wanting('dev/7/other')).toEqual([])
    a.removed('dev/+/state')
    a.added('sentinel') // written after A's removal would have been: once B sees it, a removal would be in too
    await waitFor(() => b.wanting('sentinel').length > 0, 5000, 'B to learn A\'s sentinel')
    expect(b.wanting('dev/7/state')).toEqual(['nodeA'])
    a.removed('dev/+/state')
    await waitFor(() => b.wanting('dev/7/state').length === 0, 5000, 'B to see A\'s filter go')
    a.removed('never-added') // nothing to do
  })

  it('a node started later knows the stored records as soon as start() resolves; a restart rewrites its own', async () => {
    const p = prefix()
    const a = await node(p, 'nodeA')
    a.added('x/#')
    a.added('y')
    const b = await node(p, 'nodeB')
    b.added('z')
    await waitFor(() => a.wanting('z').length > 0, 5000, 'A to see z')
    const late = await node(p, 'nodeC')
    expect(late.wanting('x/1').sort()).toEqual(['nodeA'])
    expect(late.wanting('z')).toEqual(['nodeB'])
    // nodeA restarts with only y left (x's session expired while it was down): its x record goes.
    await a.stop()
    const again = new DurableInterest()
    again.added('y')
    await again.start(await nc(), p, 'nodeA', 1, memoryLogger('warn'))
    running.push(again)
    await waitFor(() => late.wanting('x/1').length === 0, 5000, 'nodeA\'s x record to be removed')
    expect(late.wanting('y')).toEqual(['nodeA'])
  })

  it('ignores hostile records: wrong key, invalid or shared filter, bad token, empty record for an unknown key, oversized', async () => {
    const p = prefix()
    const b = await node(p, 'nodeB')
    const js = (await nc()).jetstream()
    const base = `${p}.n.dk`
    await js.publish(`${base}.evil.${key('other')}`, Buffer.from('a/#')) // key is not the filter's hash
    await js.publish(`${base}.evil.${key('a/#/b')}`, Buffer.from('a/#/b')) // invalid filter
    await js.publish(`${base}.evil.${key('$share/g/a/#')}`, Buffer.from('$share/g/a/#'))
    await js.publish(`${base}.${'t'.repeat(49)}.${key('a/#')}`, Buffer.from('a/#')) // token too long
    await js.publish(`${base}.bad!tok.${key('a/#')}`, Buffer.from('a/#'))
    await js.publish(`${base}.evil.${key('zzz')}`, Buffer.alloc(0)) // removal of nothing
    const big = `a/${'b'.repeat(65_534)}`
    await js.publish(`${base}.evil.${key(big)}`, Buffer.from(big))
    await js.publish(`${base}.good.${key('s/#')}`, Buffer.from('s/#')) // sentinel, after the rest
    await waitFor(() => b.wanting('s/1').length > 0, 5000, 'the sentinel record')
    expect(b.wanting('a/x')).toEqual([])
    expect(b.wanting('$share/g/a/x')).toEqual([]) // the shared record was not indexed either
    expect(b.wanting(`a/${'b'.repeat(65_534)}`)).toEqual([])
  })
})
