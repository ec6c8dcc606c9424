/**
 * cluster/durable-interest.ts against one real nats-server with JetStream (the module is about the
 * stream): two nodes' DurableInterest learn each other's filters, counts per filter, a node started
 * later loads the records before start() resolves, a restarted node rewrites its own records, and
 * hostile records in the stream (wrong key, bad filter, shared filter, bad token, oversized) are ignored,
 * records past the limits (filters per node, bytes for all) are left out, logged once, and room made by a removal is used again.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {DurableInterest, type DurableLimits, durableInterestStreamName} from '../../../src/broker/cluster/durable-interest.js'
import {type Logger, memoryLogger} from '../../../src/broker/log.js'
import {waitFor} from '../../helpers/mqtt.js'
import {useNats} from './unit-nats.js'

const running: DurableInterest[] = []
let n = 0
const nats = useNats({jetstream: true}, async () => void (await Promise.all(running.splice(0).map((d) => d.stop()))))
const nc = () => nats.connect()

async function node(prefix: string, token: string, limits?: DurableLimits, logger: Logger = memoryLogger('warn')): Promise<DurableInterest> {
  const d = new DurableInterest(limits)
  await d.start(await nc(), prefix, token, 1, logger)
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

  it('records past the limits are left out and logged once; a removal makes room again', async () => {
    const p = prefix()
    const log = memoryLogger('warn')
    const b = await node(p, 'nodeB', {maxFiltersPerPeer: 2, maxBytes: 3 * (3 + 200)}, log)
    const a = await node(p, 'nodeA')
    const c = await node(p, 'nodeC')
    const jsm = await (await nc()).jetstreamManager()
    /** Until the stream holds the record of `token` for `filter` (B reads the stream in order). */
    const stored = (token: string, filter: string) =>
      waitFor(async () => (await jsm.streams.getMessage(durableInterestStreamName(p), {last_by_subj: `${p}.n.dk.${token}.${key(filter)}`}).catch(() => undefined)) !== undefined, 5000, `${token}'s ${filter} in the stream`)
    a.added('a/1')
    a.added('a/2')
    a.added('a/3') // past 2 per node
    await waitFor(() => log.lines.length > 0, 5000, 'the refusal')
    expect(['a/1', 'a/2', 'a/3'].map((t) => b.wanting(t).length)).toEqual([1, 1, 0])
    c.added('c/1') // the third of 3 records' bytes for all
    await waitFor(() => b.wanting('c/1').length > 0, 5000, 'c/1')
    c.added('c/2') // past the bytes
    await stored('nodeC', 'c/2')
    // A drops a/1: room for one more of anyone's, taken by the next record (c/2 came before: left out).
    a.removed('a/1')
    await waitFor(() => b.wanting('a/1').length === 0, 5000, 'a/1 to go')
    expect(b.wanting('c/2')).toEqual([])
    expect(b.heldBytes).toBe(2 * (3 + 200))
    c.added('c/9')
    await waitFor(() => b.wanting('c/9').length > 0, 5000, 'c/9 in the room a/1 left')
    expect(b.heldBytes).toBe(3 * (3 + 200))
    expect(log.lines.filter((l) => l.includes('past what this node keeps (4096 nodes, 2 filters per node, 609 bytes for all)'))).toHaveLength(1)
  })
})
