/** src/broker/fanout.ts on its own (a recording Outbound): small matches at once, batches, per-topic order, no local, shared picks, publisher pause. */
import {describe, expect, it} from 'vitest'
import {Paused} from '../../src/broker/conn-state.js'
import {Fanout} from '../../src/broker/fanout.js'
import type {Delivery, Message} from '../../src/broker/message.js'
import type {Outbound} from '../../src/broker/outbound.js'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import type {RouteSource} from '../../src/broker/router.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {Subscriptions} from '../../src/broker/subscriptions.js'
import type {SubOptions} from '../../src/broker/topics/types.js'

const opts = (over: Partial<SubOptions> = {}): SubOptions => ({qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...over})
const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

function setup(batchSize = 10, online: (id: string) => boolean = () => true) {
  const store = new MemoryStore()
  const stats = new BrokerStats()
  const subscriptions = new Subscriptions({store, stats, matchCacheSize: 100})
  const delivered: Array<{to: string; payload: string; qos: number; retain: boolean; ids?: number[]; shared?: string}> = []
  const outbound = {
    deliver: (to: string, msg: Message, qos: number, retain: boolean, ids?: number[], shared?: string) =>
      delivered.push({to, payload: msg.payload.toString(), qos, retain, ids, shared}),
  } as unknown as Outbound
  let flushes = 0
  const faults: string[] = []
  const fanout = new Fanout({batchSize, stats, subscriptions, outbound, isOnline: online, flush: () => void flushes++, onFault: (id) => void faults.push(id), denySubscribe: []})
  const sub = (id: string, filter: string, o: Partial<SubOptions> = {}) => subscriptions.add(store.getSession(id) ?? store.createSession(id, 0), filter, opts(o))
  return {fanout, delivered, stats, sub, flushes: () => flushes}
}

const msg = (topic: string, payload: string, over: Partial<Message> = {}): Message => ({topic, payload: Buffer.from(payload), qos: 2, retain: false, expiresAt: 0, ...over})

describe('Fanout', () => {
  it('no subscriber: counted; a small match: delivered at once with min(QoS), subscription ids, retain only with retain-as-published', () => {
    const {fanout, delivered, stats, sub} = setup()
    fanout.route(msg('none', 'x'))
    expect(stats.messagesNoSubscriber).toBe(1)
    sub('a', 't/#', {qos: 1, subscriptionId: 4})
    sub('b', 't/1', {qos: 2, retainAsPublished: true})
    fanout.route(msg('t/1', 'm', {retain: true}))
    expect(delivered).toEqual([
      {to: 'a', payload: 'm', qos: 1, retain: false, ids: [4], shared: undefined},
      {to: 'b', payload: 'm', qos: 2, retain: true, ids: undefined, shared: undefined},
    ])
  })

  it('no local: a client does not get its own message through a no-local subscription, but does through another', () => {
    const {fanout, delivered, sub} = setup()
    sub('me', 'x/#', {noLocal: true})
    fanout.route(msg('x/1', 'own', {from: 'me'}))
    expect(delivered).toEqual([])
    sub('me', 'x/1', {qos: 0})
    fanout.route(msg('x/1', 'own2', {from: 'me'}))
    expect(delivered.map((d) => [d.to, d.qos])).toEqual([['me', 0]])
  })

  it('a large match: the first batch at once, the rest later; a later message on the same topic waits behind it, another topic does not', async () => {
    const {fanout, delivered, sub, flushes} = setup(10)
    for (let i = 0; i < 35; i++) sub(`c${i}`, 'big')
    sub('solo', 'small')
    fanout.route(msg('big', '1'))
    expect(delivered).toHaveLength(10)
    fanout.route(msg('big', '2'))
    fanout.route(msg('small', 's'))
    expect(delivered.slice(10).map((d) => d.payload)).toEqual(['s'])
    expect(fanout.pending).toBe(2)
    while (fanout.pending > 0) await turn()
    const big = delivered.filter((d) => d.payload !== 's')
    expect(big.map((d) => d.payload)).toEqual([...Array(35).fill('1'), ...Array(35).fill('2')])
    expect(flushes()).toBeGreaterThan(0)
  })

  it('publishers are paused past 256 queued broadcasts and resumed when the queue is empty', async () => {
    const {fanout, sub} = setup(1)
    sub('a', 'b')
    sub('b', 'b')
    let paused = 0
    const source: RouteSource = {
      get paused() {
        return paused
      },
      pauseReading: (r: Paused) => void (paused |= r),
      resumeReading: (r: Paused) => void (paused &= ~r),
    }
    for (let i = 0; i < 300; i++) fanout.route(msg('b', String(i)), source)
    expect(paused & Paused.Fanout).toBe(Paused.Fanout)
    while (fanout.pending > 0) await turn()
    expect(paused).toBe(0)
  })

  it('shared groups: one member per message, online members first; a leaving member hands its delivery to another', () => {
    const online = new Set(['m2', 'm3'])
    const {fanout, delivered, sub} = setup(10, (id) => online.has(id))
    for (const id of ['m1', 'm2', 'm3']) sub(id, '$share/g/s')
    fanout.route(msg('s', '1'))
    fanout.route(msg('s', '2'))
    expect(delivered.map((d) => [d.to, d.shared])).toEqual([['m2', '$share/g/s'], ['m3', '$share/g/s']])
    const d: Delivery = {msg: msg('s', '3'), qos: 1, retain: false, packetId: 5, released: false, sent: true, shared: '$share/g/s'}
    expect(fanout.redeliverShared(d, 'm2')).toBe(true)
    expect(delivered[2].to).toBe('m3')
    online.clear()
    expect(fanout.redeliverShared(d, 'm2')).toBe(false)
  })
})
