import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {findMosquitto, freePort, startMosquitto, type RunningBroker} from '../../src/bench/brokers.js'
import {normalize, runBench} from '../../src/bench/index.js'

const bin = findMosquitto(false)
let broker: RunningBroker

// Runs the generator for real against Debian's Mosquitto; asserts counts, never speed.
describe('runBench against Mosquitto', () => {
  beforeAll(async () => {
    if (!bin) throw new Error('these tests need Debian\'s mosquitto broker (apt-get install mosquitto); .ci/run installs it')
    broker = await startMosquitto(bin, {port: await freePort()})
  })
  afterAll(async () => broker?.stop())

  const run = (mode: Parameters<typeof normalize>[0], o: Parameters<typeof normalize>[1]) =>
    runBench(normalize(mode, {port: broker.port, duration: 10, clientId: `t-${mode}-%i`, ...o}))

  it('pubsub pairs: --count messages, every one delivered, latency recorded', async () => {
    const r = await run('pubsub', {clients: 5, count: 5000, topic: 't/pairs/%i'})
    expect(r.connect).toMatchObject({attempted: 10, connected: 10, failed: 0})
    expect(r.messages).toMatchObject({sent: 5000, received: 5000, expected: 5000, lost: 0})
    expect(r.latencyMs?.count).toBe(5000)
    expect(r.errors.count).toBe(0)
    expect(r.generator.processes).toBe(1)
  })

  it('fan-in on a wildcard, QoS 1 with acknowledgements and MQTT 5', async () => {
    const r = await run('pubsub', {clients: 4, subscribers: 1, count: 2000, topic: 't/fi/%i', subTopic: 't/fi/#', qos: 1, inflight: 10, protocol: 5})
    expect(r.messages).toMatchObject({sent: 2000, received: 2000, lost: 0, acked: 2000})
  })

  it('QoS 2 round trip (PUBREC/PUBREL/PUBCOMP on both sides)', async () => {
    const r = await run('pubsub', {clients: 2, count: 400, topic: 't/q2/%i', qos: 2, inflight: 10})
    expect(r.messages).toMatchObject({sent: 400, received: 400, acked: 400, lost: 0})
  })

  it('fanout: every broadcast reaches every subscriber; the probe measures the stall', async () => {
    const r = await run('fanout', {clients: 30, count: 5, interval: 0, topic: 't/fan', probe: true})
    expect(r.broadcasts).toMatchObject({sent: 5, complete: 5, incomplete: 0})
    expect(r.messages.received).toBe(150)
    expect(r.broadcasts?.completionMs?.count).toBe(5)
    expect(r.probeMs).not.toBeNull()
  })

  it('sub: -c subscribers receive what another client publishes, and stop at --count', async () => {
    let publisher: Promise<unknown> | undefined
    const r = await runBench(normalize('sub', {port: broker.port, clients: 4, topic: 't/sub', count: 40, duration: 10, clientId: 't-sub-%i'}), {
      ready: () => {
        publisher = runBench(normalize('pub', {port: broker.port, clients: 1, topic: 't/sub', count: 10, duration: 10, clientId: 't-sub-pub-%i'}))
      },
    })
    await publisher
    expect(r).toMatchObject({mode: 'sub', clients: 4, subscribers: 4})
    expect(r.connect).toMatchObject({connected: 4, failed: 0})
    expect(r.messages.received).toBe(40)
  })

  it('conn holds subscribed connections and stops by itself', async () => {
    let ready = false
    const r = await runBench(normalize('conn', {port: broker.port, clients: 200, subscribe: true, duration: 1, brokerPid: broker.pid}), {ready: () => void (ready = true)})
    expect(ready).toBe(true)
    expect(r.connect).toMatchObject({connected: 200, failed: 0})
    expect(r.broker?.rssBytes).toBeGreaterThan(0)
  })

  it('several worker processes: shares merged', async () => {
    const r = await run('pubsub', {clients: 4, count: 4000, topic: 't/w/%i', workers: 2})
    expect(r.generator.processes).toBe(2)
    expect(r.messages).toMatchObject({sent: 4000, received: 4000, lost: 0})
    expect(r.latencyMs?.count).toBe(4000)
  }, 30_000)

  it('a refused connection is counted, not thrown', async () => {
    const r = await runBench(normalize('conn', {port: await freePort(), clients: 3, duration: 1, connectTimeout: 2}))
    expect(r.connect).toMatchObject({connected: 0, failed: 3})
    expect(Object.keys(r.errors.messages)[0]).toMatch(/ECONNREFUSED/)
  })
})

describe('fanout whose publisher is refused', () => {
  // Found by QA: `bench fanout -c 15000` against a broker limited to 10,000 connections reported
  // "5 sent … 75,000 lost" although the publisher never connected, and "CONNACK refused (code 3)".
  it('sends nothing and names the refusal', async () => {
    const {createServer} = await import('node:net')
    let accepted = 0
    const server = createServer((socket) => {
      let buf = Buffer.alloc(0)
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk])
        for (;;) {
          let len = 0
          let mul = 1
          let i = 1
          for (; i < buf.length && i < 5; i++) {
            len += (buf[i] & 0x7f) * mul
            mul *= 128
            if ((buf[i] & 0x80) === 0) break
          }
          if (i >= buf.length || buf.length < i + 1 + len) return
          const type = buf[0] >> 4
          const body = buf.subarray(i + 1, i + 1 + len)
          buf = buf.subarray(i + 1 + len)
          if (type === 1) socket.write(Buffer.from([0x20, 2, 0, accepted++ < 3 ? 0 : 3]))
          if (type === 8) socket.write(Buffer.from([0x90, 3, body[0], body[1], 0]))
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as {port: number}).port
      const r = await runBench(normalize('fanout', {port, clients: 3, count: 5, interval: 0, duration: 5, connectConcurrency: 1, connectTimeout: 2}))
      expect(r.connect).toMatchObject({connected: 3, failed: 1})
      expect(r.messages).toMatchObject({sent: 0, received: 0, lost: 0})
      expect(r.broadcasts).toMatchObject({sent: 0, incomplete: 0})
      expect(r.errors.messages).toEqual({'CONNACK refused (code 3: server unavailable, e.g. at its connection limit)': 1})
    } finally {
      server.close()
    }
  })
})
