/**
 * cluster/filters.ts against a real nats-server (its job is NATS subscriptions), with a recording
 * host: filters counted per local subscriber and subscribed once, subscriptions made on attach,
 * one delivery per message despite overlapping filters, shared filters as queue groups (one node
 * of two gets each message), malformed NATS messages counted, skip(), unmapped filters, a failing
 * delivery logged without breaking the subscription.
 */
import {headers as natsHeaders} from 'nats'
import {describe, expect, it} from 'vitest'
import {type FilterEvents, NatsFilters} from '../../../src/broker/cluster/filters.js'
import {ClusterStats, type ClusterHost} from '../../../src/broker/cluster/host.js'
import {SubjectMap} from '../../../src/broker/cluster/subjects.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Message} from '../../../src/broker/message.js'
import {ManualClock} from '../../helpers/clock.js'
import {useNats} from './unit-nats.js'

let n = 0
const nats = useNats({jetstream: false})
const nc = () => nats.connect({noEcho: true})
const flushAll = async () => {
  for (const c of nats.conns) await c.flush()
  for (const c of nats.conns) await c.flush()
}

async function setup(prefix = `flt${n++}`) {
  const map = new SubjectMap({prefix})
  const pub = await nc()
  const node = async (skip?: (subject: string) => boolean) => {
    const local: Message[] = []
    const shared: Array<[string, Message]> = []
    const events: string[] = []
    const logger = memoryLogger('warn')
    let failing = false
    const host = {
      logger,
      clock: new ManualClock(1_000_000),
      deliverLocal: (m: Message) => {
        if (failing) throw new Error('delivery broke')
        local.push(m)
      },
      deliverShared: (m: Message, name: string) => (shared.push([name, m]), true),
    } as unknown as ClusterHost
    const ev: FilterEvents = {added: (f) => events.push(`+${f}`), removed: (f) => events.push(`-${f}`), unmapped: (f) => events.push(`?${f}`), skip: skip && ((m) => skip(m.subject))}
    const stats = new ClusterStats()
    const filters = new NatsFilters(map, host, stats, ev)
    const main = await nc()
    const sharedConn = await nc()
    return {filters, local, shared, events, stats, logger, attach: () => filters.attach(main, sharedConn), fail: (v: boolean) => (failing = v)}
  }
  const send = async (topic: string, payload = 'x') => {
    await flushAll() // subscriptions made so far are known to the server
    pub.publish(map.topic(topic)!, Buffer.from(payload))
    await flushAll()
  }
  return {map, pub, node, send}
}

describe('NatsFilters', () => {
  it('counts local subscribers per filter: one NATS subscription, announced once, removed with the last', async () => {
    const {node, send} = await setup()
    const a = await node()
    a.attach()
    a.filters.add('dev/+/state')
    a.filters.add('dev/+/state')
    expect(a.events).toEqual(['+dev/+/state'])
    expect(a.stats.natsSubscriptions).toBe(1)
    await send('dev/1/state', 'on')
    expect(a.local.map((m) => `${m.topic}=${m.payload}`)).toEqual(['dev/1/state=on'])
    expect(a.stats.imported).toBe(1)
    a.filters.remove('dev/+/state')
    expect(a.stats.natsSubscriptions).toBe(1)
    a.filters.remove('dev/+/state')
    a.filters.remove('dev/+/state') // one too many: nothing
    expect(a.events).toEqual(['+dev/+/state', '-dev/+/state'])
    expect(a.stats.natsSubscriptions).toBe(0)
    await send('dev/1/state', 'again')
    expect(a.local).toHaveLength(1)
  })

  it('filters added before the link is up are subscribed on attach; all() lists plain and shared ones', async () => {
    const {node, send} = await setup()
    const a = await node()
    a.filters.add('a/#')
    a.filters.add('$share/g/b/#')
    expect(a.stats.natsSubscriptions).toBe(0)
    expect(a.filters.all().sort()).toEqual(['$share/g/b/#', 'a/#'])
    a.attach()
    expect(a.stats.natsSubscriptions).toBeGreaterThanOrEqual(2)
    await send('a/1')
    expect(a.local).toHaveLength(1)
  })

  it('overlapping filters on one node deliver each message once', async () => {
    const {node, send} = await setup()
    const a = await node()
    a.attach()
    for (const f of ['a/#', 'a/+', 'a/b', '+/b']) a.filters.add(f)
    await send('a/b')
    expect(a.local).toHaveLength(1)
    await send('a/c/d')
    expect(a.local).toHaveLength(2)
  })

  it('a shared filter is a queue group across nodes: each message goes to exactly one of them', async () => {
    const {node, send} = await setup()
    const [a, b] = [await node(), await node()]
    for (const x of [a, b]) {
      x.attach()
      x.filters.add('$share/workers/jobs/+')
    }
    await flushAll()
    for (let i = 0; i < 20; i++) await send(`jobs/${i}`)
    expect(a.shared.length + b.shared.length).toBe(20)
    expect([...a.shared, ...b.shared].every(([name]) => name === '$share/workers/jobs/+')).toBe(true)
    expect(a.stats.importedShared + b.stats.importedShared).toBe(20)
    expect(a.local.length + b.local.length).toBe(0)
  })

  it('counts and drops malformed messages: a subject that is not a topic, a bad header', async () => {
    const {node, pub, map} = await setup()
    const a = await node()
    a.attach()
    a.filters.add('#')
    await flushAll()
    pub.publish(`${map.prefix}.t.a.~41`, Buffer.from('x')) // "~41" escapes "A", which is never escaped: not a subject this map makes
    const h = natsHeaders()
    h.set('Mqtt-Qos', '3')
    pub.publish(map.topic('ok')!, Buffer.from('x'), {headers: h})
    await flushAll()
    expect(a.local).toHaveLength(0)
    expect(a.stats.malformed).toBe(2)
  })

  it('skip() keeps a message out (it comes through JetStream); an unmappable filter is reported', async () => {
    const {node, send, map} = await setup()
    const a = await node((subject) => subject === map.topic('skip/me'))
    a.attach()
    a.filters.add('skip/+')
    await send('skip/me')
    await send('skip/not')
    expect(a.local.map((m) => m.topic)).toEqual(['skip/not'])
    const long = `x/${'y'.repeat(5000)}`
    a.filters.add(long)
    expect(a.events.slice(-2)).toEqual([`?${long}`, `+${long}`]) // still this node's filter, served locally
  })

  it('a delivery that throws is logged and the next message still arrives', async () => {
    const {node, send} = await setup()
    const a = await node()
    a.attach()
    a.filters.add('t')
    a.fail(true)
    await send('t', '1')
    expect(a.logger.lines.some((l) => l.includes('cluster: internal error delivering "t": Error: delivery broke'))).toBe(true)
    a.fail(false)
    await send('t', '2')
    expect(a.local.map((m) => String(m.payload))).toEqual(['2'])
  })
})
