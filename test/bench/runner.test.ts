/** src/bench/runner.ts directly: one process's share of a bench against a real broker on 127.0.0.1 (counts, never speed). */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {slices} from '../../src/bench/index.js'
import {normalize} from '../../src/bench/options.js'
import {Runner} from '../../src/bench/runner.js'
import {createBroker} from '../../src/broker/index.js'
import {silentLogger} from '../../src/broker/log.js'
import {DEFAULT_CONFIG} from '../../src/config/schema.js'
import {startBroker, type StartedBroker} from '../helpers/broker.js'

let b: StartedBroker
beforeAll(async () => {
  b = await startBroker({persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}})
})
afterAll(async () => b?.close())

const runner = (mode: Parameters<typeof normalize>[0], o: Parameters<typeof normalize>[1]) => {
  const opts = normalize(mode, {port: b.port, duration: 20, drainTimeout: 5, ...o})
  return new Runner(opts, slices(opts)[0])
}

describe('Runner', () => {
  it('pubsub pairs: every message delivered once, latency recorded for each, the clients closed at the end', async () => {
    const r = runner('pubsub', {clients: 3, count: 300, topic: 'rn/pairs/%i', clientId: 'rn-p-%i'})
    let atReady: ReturnType<Runner['progress']> | undefined
    const part = await r.run({ready: () => void (atReady = r.progress())})
    expect(atReady).toMatchObject({phase: 'connecting', connected: 6, connectFailed: 0, sent: 0})
    expect(part).toMatchObject({connected: 6, connectFailed: 0, sent: 300, received: 300, errorCount: 0, errors: {}, probe: null, broadcasts: null})
    expect(part.latency.count).toBe(300)
    expect(part.sentMeasured).toBe(300)
    expect(r.progress()).toMatchObject({phase: 'done', sent: 300, received: 300})
    expect([...r.pubs, ...r.subs].every((c) => !c.connected)).toBe(true)
  })

  it('QoS 1: every publish acknowledged', async () => {
    const part = await runner('pubsub', {clients: 2, count: 200, qos: 1, inflight: 10, topic: 'rn/q1/%i', clientId: 'rn-q1-%i'}).run()
    expect(part).toMatchObject({sent: 200, received: 200, acked: 200, errorCount: 0})
  })

  it('fan-out: each broadcast reaches every subscriber and is counted per broadcast', async () => {
    const part = await runner('fanout', {clients: 12, count: 4, interval: 0, topic: 'rn/fan', clientId: 'rn-f-%i'}).run()
    expect(part.sent).toBe(4)
    expect(part.received).toBe(48)
    expect(part.broadcasts).not.toBeNull()
  })

  it('a broker that is not there: every connection failed, counted once per client, and the run still ends', async () => {
    const gone = createBroker({...DEFAULT_CONFIG, listeners: [{host: '127.0.0.1', port: 0}]}, {logger: silentLogger})
    const [addr] = await gone.listen()
    await gone.close()
    const part = await runner('pub', {port: addr.port, clients: 3, count: 10, duration: 1, topic: 'rn/none', connectTimeout: 2}).run()
    expect(part.connected).toBe(0)
    expect(part.connectFailed).toBe(3)
    expect(part.sent).toBe(0)
    expect(part.errorCount).toBeGreaterThanOrEqual(3)
    expect(Object.keys(part.errors).length).toBeGreaterThan(0)
  })

  it('keeps at most 10 distinct error messages, and counts every error', () => {
    const r = runner('pub', {clients: 1})
    for (let i = 0; i < 25; i++) r.error(new Error(`e${i}`))
    r.error(new Error('e3'))
    expect(r.errorCount).toBe(26)
    expect(r.errors.size).toBe(10)
    expect(r.errors.get('e3')).toBe(2)
    expect(r.errors.has('e20')).toBe(false)
  })
})
