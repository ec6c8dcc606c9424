/**
 * The broker's object graph directly (wiring.ts): defaults when BrokerOptions gives nothing, the
 * given clock/store/stats/logger/authorizer used by every service, the router wrapped around the
 * fan-out, the context's calls reaching the host, and a delivery fault of an offline client counted.
 */
import {describe, expect, it} from 'vitest'
import {AllowAll} from '../../src/broker/auth/authorizer.js'
import {systemClock} from '../../src/broker/clock.js'
import {silentLogger} from '../../src/broker/log.js'
import type {Delivery, Message} from '../../src/broker/message.js'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import type {SessionRecord} from '../../src/broker/persistence/store.js'
import type {Router} from '../../src/broker/router.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {wireServices, type WiringHost} from '../../src/broker/wiring.js'
import {type BrokerConfig, DEFAULT_CONFIG} from '../../src/config/index.js'
import {ManualClock} from '../helpers/clock.js'
import {FakeAuthorizer} from '../helpers/fakes.js'

const config: BrokerConfig = {...DEFAULT_CONFIG, listeners: [], maxConnections: 1234}
const opts = {qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const}
const msg = (topic: string): Message => ({topic, payload: Buffer.from('p'), qos: 1, retain: false, expiresAt: 0})

function host() {
  const calls: string[] = []
  const h: WiringHost = {
    flushAll: () => void calls.push('flushAll'),
    publishMessage: (m) => (calls.push(`publish ${m.topic}`), true),
    touchConnection: () => void calls.push('touch'),
    logDebug: (f) => void calls.push(`debug ${f()}`),
  }
  return {h, calls}
}

describe('wireServices', () => {
  it('without options: a memory store, the system clock, a silent logger, fresh stats, everyone allowed', () => {
    const s = wireServices(config, {}, host().h)
    expect(s.store).toBeInstanceOf(MemoryStore)
    expect(s.clock).toBe(systemClock)
    expect(s.logger).toBe(silentLogger)
    expect(s.stats).toBeInstanceOf(BrokerStats)
    expect(s.authorizer).toBeInstanceOf(AllowAll)
    expect(s.router).toBe(s.fanout)
    expect(s.stats.maxConnections).toBe(1234)
    expect(s.stats.storeFigures?.()).toMatchObject({kind: 'memory', bytesOnDisk: 0})
  })

  it('the given objects are the ones the services and the context share', () => {
    const store = new MemoryStore()
    const stats = new BrokerStats()
    const clock = new ManualClock()
    const authorizer = new FakeAuthorizer()
    const s = wireServices(config, {store, stats, clock, authorizer, logger: silentLogger}, host().h)
    expect([s.store, s.stats, s.clock, s.authorizer]).toEqual([store, stats, clock, authorizer])
    const c = s.context
    expect([c.store, c.stats, c.clock, c.authorizer, c.subscriptions, c.clients, c.outbound, c.sessions, c.router, c.limits]).toEqual([store, stats, clock, authorizer, s.subscriptions, s.clients, s.outbound, s.sessions, s.router, s.limits])
    expect(c.config).toBe(config)
    store.createSession('p', 60)
    expect(stats.storeFigures?.()).toMatchObject({persistentSessions: 1})
  })

  it('a message routed to an offline persistent subscriber is queued in the given store (subscriptions -> fan-out -> outbound -> store)', () => {
    const store = new MemoryStore()
    const s = wireServices(config, {store}, host().h)
    const session = store.createSession('offline', 60)
    s.subscriptions.add(session, 'a/+', opts)
    s.router.route(msg('a/b'))
    expect(session.queue?.map((d) => d.msg.topic)).toEqual(['a/b'])
  })

  it('BrokerOptions.router wraps the fan-out: what it returns is the router of the services and the context', () => {
    const routed: string[] = []
    let local: Router | undefined
    const s = wireServices(config, {router: (fanout) => {
      local = fanout
      return {route: (m) => (routed.push(m.topic), fanout.route(m))}
    }}, host().h)
    expect(local).toBe(s.fanout)
    expect(s.router).not.toBe(s.fanout)
    expect(s.context.router).toBe(s.router)
    s.context.router.route(msg('x'))
    expect(routed).toEqual(['x'])
  })

  it("the context's publish, touchConnection and logDebug reach the host", () => {
    const {h, calls} = host()
    const s = wireServices(config, {}, h)
    expect(s.context.publish(msg('will/t'))).toBe(true)
    s.context.touchConnection({} as never)
    s.context.logDebug(() => 'hello')
    expect(calls).toEqual(['publish will/t', 'touch', 'debug hello'])
  })

  it('a fault delivering to an offline client is counted as an internal error, not thrown', () => {
    class BrokenStore extends MemoryStore {
      override enqueue(_s: SessionRecord, _d: Delivery): void {
        throw new Error('broken queue')
      }
    }
    const store = new BrokenStore()
    const s = wireServices(config, {store}, host().h)
    s.subscriptions.add(store.createSession('offline', 60), 't', opts)
    expect(() => s.router.route(msg('t'))).not.toThrow()
    expect(s.stats.internalErrors).toBe(1)
  })
})
