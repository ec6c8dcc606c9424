/**
 * cluster/retained.ts against a real nats-server with JetStream (the module is about the stream),
 * with recording hosts in place of brokers: every node applies every retained write in stream order
 * (its own included), deletions travel, a node started later loads the last message per topic before
 * start() resolves, malformed stream records are counted and dropped, failed writes are counted and
 * logged at most once a minute (ManualClock).
 */
import {headers as natsHeaders} from 'nats'
import {describe, expect, it} from 'vitest'
import {ClusterStats, type ClusterHost} from '../../../src/broker/cluster/host.js'
import {RetainedSync, retainedStreamName} from '../../../src/broker/cluster/retained.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Message} from '../../../src/broker/message.js'
import {ManualClock} from '../../helpers/clock.js'
import {waitFor} from '../../helpers/mqtt.js'
import {useNats} from './unit-nats.js'

const syncs: RetainedSync[] = []
let n = 0
const nats = useNats({jetstream: true}, async () => void (await Promise.all(syncs.splice(0).map((s) => s.stop()))))
const nc = () => nats.connect()

async function node(prefix: string, clock = new ManualClock(1_000_000)) {
  const applied: Message[] = []
  const logger = memoryLogger('warn')
  const host = {logger, clock, applyRetained: (m: Message) => applied.push(m)} as unknown as ClusterHost
  const stats = new ClusterStats()
  const sync = new RetainedSync(await nc(), prefix, 1, host, stats)
  syncs.push(sync)
  await sync.start()
  return {sync, applied, stats, logger, clock}
}
const msg = (topic: string, payload: string, extra: Partial<Message> = {}): Message => ({topic, payload: Buffer.from(payload), qos: 1, retain: true, expiresAt: 0, ...extra})
const prefix = () => `ret${n++}`

describe('RetainedSync', () => {
  it('names its stream after the prefix', () => {
    expect(retainedStreamName()).toBe('MQTT_RETAINED_mqtt')
    expect(retainedStreamName('a.b')).toBe('MQTT_RETAINED_a_b')
  })

  it('a retained write reaches every node, the writer included, as a retained message; a deletion too', async () => {
    const p = prefix()
    const a = await node(p)
    const b = await node(p)
    a.sync.publish(msg('dev/1/state', 'on', {qos: 2}))
    await waitFor(() => b.applied.length === 1 && a.applied.length === 1, 5000, 'both nodes to apply')
    expect(b.applied[0]).toMatchObject({topic: 'dev/1/state', qos: 2, retain: true, owned: true})
    expect(b.applied[0].payload.toString()).toBe('on')
    await waitFor(() => a.stats.retainedOut === 1, 5000, 'the write acked')
    expect(b.stats.retainedIn).toBe(1)
    a.sync.publish(msg('dev/1/state', '', {qos: 0}))
    await waitFor(() => b.applied.length === 2, 5000, 'the deletion')
    expect(b.applied[1].payload.length).toBe(0)
  })

  it('a node started later holds the last message per topic once start() resolves, $ topics included', async () => {
    const p = prefix()
    const a = await node(p)
    a.sync.publish(msg('t/1', 'old'))
    a.sync.publish(msg('t/1', 'new'))
    a.sync.publish(msg('$SYS/x', 'sys'))
    a.sync.publish(msg('t/2', 'two'))
    await waitFor(() => a.stats.retainedOut === 4, 5000, 'four writes acked')
    const late = await node(p)
    expect(late.applied.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['$SYS/x=sys', 't/1=new', 't/2=two'])
  })

  it('drops and counts stream records that are not messages: a subject outside the map, a malformed header', async () => {
    const p = prefix()
    const b = await node(p)
    const js = (await nc()).jetstream()
    await js.publish(`${p}.r.x.weird`, Buffer.from('x')) // in the stream (<prefix>.r.>) but no topic channel
    const h = natsHeaders()
    h.set('Mqtt-Qos', '7')
    await js.publish(`${p}.r.t.bad`, Buffer.from('x'), {headers: h})
    await js.publish(`${p}.r.t.good`, Buffer.from('ok'))
    await waitFor(() => b.applied.length === 1, 5000, 'the good record')
    expect(b.applied[0]).toMatchObject({topic: 'good', retain: true}) // a stream record is retained even without headers
    expect(b.stats.malformed).toBe(2)
  })

  it('a topic no subject can carry is not written; failed writes are counted and logged at most once a minute', async () => {
    const p = prefix()
    const a = await node(p)
    a.sync.publish(msg(`x/${'y'.repeat(5000)}`, 'too long for a subject'))
    const jsm = await (await nc()).jetstreamManager()
    await jsm.streams.delete(a.sync.stream) // writes now fail: nothing answers on the subject
    a.sync.publish(msg('t/1', 'a'))
    a.sync.publish(msg('t/2', 'b'))
    await waitFor(() => a.stats.retainedErrors === 2, 10_000, 'two failed writes')
    expect(a.logger.lines.filter((l) => l.includes(`a retained message was not written to the stream ${a.sync.stream}`))).toHaveLength(1)
    a.clock.advance(60_000)
    a.sync.publish(msg('t/3', 'c'))
    await waitFor(() => a.stats.retainedErrors === 3, 10_000, 'a third failed write')
    expect(a.logger.lines.filter((l) => l.includes('not written to the stream'))).toHaveLength(2)
    expect(a.logger.lines[1]).toContain('(3 so far)')
    expect(a.stats.retainedOut).toBe(0)
  })
})
