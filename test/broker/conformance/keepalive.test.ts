/**
 * Keep alive: a silent client is closed after 1.5 x its keep alive (never before the keep alive),
 * any packet or PINGREQ keeps it open, the will goes out on a keep-alive close, and
 * limits.maxKeepAlive is announced to MQTT 5 clients as server keep alive.
 */
import type {IConnackPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {clientId, closeAll, collect, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {codeOf, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, startTarget, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

describe('keep alive [MQTT-3.1.2-24]', () => {
  it.each([3, 4, 5] as const)('v%i: a silent client with keep alive 1 s is closed after 1.5 s, not before', async (version) => {
    const raw = await RawClient.open(target.port, {version})
    const id = clientId('ka')
    await raw.connect({clientId: id, keepalive: 1})
    await target.elapse(1000)
    expect(target.hasClient(id) ?? !raw.isClosed).toBe(true)
    expect(raw.isClosed).toBe(false)
    await target.elapse(1600) // past 1.5 x keep alive (the deadline wheel counts in whole seconds)
    await raw.waitClosed()
    // MQTT 5: if the server says why, it is 0x8D Keep Alive timeout.
    for (const disconnect of raw.received('disconnect')) expect(codeOf(disconnect)).toBe(0x8d)
  })

  it('PINGREQ every 400 ms keeps a keep-alive-1 client open past 2.5 s, each answered [MQTT-3.12.4-1]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect({keepalive: 1})
    for (let n = 0; n < 7; n++) {
      await target.elapse(400)
      await raw.ping()
    }
    expect(raw.isClosed).toBe(false)
    expect(raw.received('pingresp')).toHaveLength(7)
  })

  it('any control packet (QoS 0 PUBLISH) resets the keep-alive deadline', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect({keepalive: 1})
    const topic = uniqueTopic('ka')
    for (let n = 0; n < 7; n++) {
      await target.elapse(400)
      raw.sendPacket({cmd: 'publish', topic, payload: Buffer.from('tick'), qos: 0, dup: false, retain: false})
      await raw.ping() // the PUBLISH was read before time moves on (the ping's answer follows it)
    }
    await raw.ping()
    expect(raw.isClosed).toBe(false)
  })

  it('keep alive 0 turns the mechanism off: the client is still served after 2 s of silence', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect({keepalive: 0})
    await target.elapse(2000) // the thing under test is silence
    await raw.ping()
    expect(raw.isClosed).toBe(false)
  })

  it('a keep-alive close publishes the will [MQTT-3.1.2-8]', async () => {
    const topic = uniqueTopic('kawill')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const raw = await RawClient.open(target.port)
    await raw.connect({keepalive: 1, will: {topic, payload: Buffer.from('timed out'), qos: 1, retain: false}})
    await target.elapse(2600) // 1.5 x keep alive, plus the wheel's one-second granularity
    await raw.waitClosed()
    await inbox.waitPayload('timed out')
  })
})

describe('server keep alive (limits.maxKeepAlive)', () => {
  it('5.0: a keep alive above maxKeepAlive is lowered and announced as serverKeepAlive [MQTT-3.2.2-21]', async () => {
    const own = await startTarget({limits: {maxKeepAlive: 10}})
    const raw = await RawClient.open(own.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({keepalive: 60})
    expect(codeOf(connack)).toBe(0)
    expect(connack.properties?.serverKeepAlive).toBe(10)
  })

  it('5.0: keep alive 0 (off) with maxKeepAlive 10 is announced as serverKeepAlive 10', async () => {
    const own = await startTarget({limits: {maxKeepAlive: 10}})
    const raw = await RawClient.open(own.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({keepalive: 0})
    expect(connack.properties?.serverKeepAlive).toBe(10)
  })

  it('5.0: a keep alive within maxKeepAlive is kept (no serverKeepAlive, or the same value)', async () => {
    const own = await startTarget({limits: {maxKeepAlive: 10}})
    const raw = await RawClient.open(own.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({keepalive: 5})
    expect(connack.properties?.serverKeepAlive ?? 5).toBe(5)
  })

  it('5.0: the broker enforces its server keep alive (1 s) on a client that asked for 60 s', async () => {
    const own = await startTarget({limits: {maxKeepAlive: 1}})
    const raw = await RawClient.open(own.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({keepalive: 60})
    expect(connack.properties?.serverKeepAlive).toBe(1)
    await own.elapse(2600)
    await raw.waitClosed()
  })

  it('MQTT.js 5 adopts the announced serverKeepAlive and stays connected by pinging', async () => {
    const own = await startTarget({limits: {maxKeepAlive: 1}})
    const client = await connect(own.url, {version: 5, keepalive: 60})
    const pings: unknown[] = []
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'pingresp') pings.push(packet)
    })
    // MQTT.js pings on its own (real) timer, every 1 s it adopted: wait for two pings, letting the
    // broker's time follow, and the broker (1.5 s without a packet) must never have closed it.
    for (let n = 1; n <= 2; n++) {
      await waitFor(() => pings.length >= n, 5000, `ping ${n}`)
      await own.elapse(1000)
    }
    expect(client.connected).toBe(true)
  })
})
