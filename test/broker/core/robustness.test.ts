/**
 * "The broker never crashes on any byte sequence from a client, and a slow or malicious client cannot
 * grow its memory without bound": deep topics, declared-but-unsent huge frames, clients that flood
 * without reading, payloads pinning read chunks, errors in timer and close callbacks. After each case
 * a fresh client is still served. Our broker only (it reads broker internals).
 */
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {type Connection} from '../../../src/broker/connection.js'
import {createLogger, type Logger} from '../../../src/broker/log.js'
import {MAX_TOPIC_LEVELS} from '../../../src/broker/protocol/topics.js'
import {RetainedIndex} from '../../../src/broker/retained.js'
import {Deadlines, type Timed} from '../../../src/broker/timers.js'
import {TrieNode, collect, insert} from '../../../src/broker/topics/trie.js'
import {DEFAULT_CONFIG} from '../../../src/config/index.js'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, collect as inboxOf, connect, track, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {codeOf, encode, RawClient} from '../../helpers/raw.js'

afterEach(closeAll)

const impl = (b: StartedBroker): BrokerImpl => b.broker as unknown as BrokerImpl
/** A topic of n one-letter levels (20,000 levels stay under the 65,535-byte string limit). */
const levels = (n: number): string => new Array<string>(n).fill('x').join('/')

/** A new client subscribes and receives a QoS 1 message: the broker still serves. */
async function stillServes(b: StartedBroker): Promise<void> {
  const topic = uniqueTopic('alive')
  const sub = await connect(b.url, {version: 5})
  const inbox = inboxOf(sub)
  await sub.subscribeAsync(topic, {qos: 1})
  const pub = await connect(b.url)
  await pub.publishAsync(topic, 'still alive', {qos: 1})
  await inbox.waitPayload('still alive')
}

function memoryLogger(): Logger & {errors: string[]} {
  const errors: string[] = []
  const logger = createLogger('error', (line) => void errors.push(line))
  return Object.assign(logger, {errors})
}

describe('deep topics', () => {
  it(`a filter of more than ${MAX_TOPIC_LEVELS} levels is refused (MQTT 5: SUBACK 0x8F, 3.1.1: 0x80); ${MAX_TOPIC_LEVELS} is accepted`, async () => {
    const b = track(await startBroker())
    const v5 = await RawClient.open(b.port, {version: 5})
    await v5.connect()
    v5.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: levels(20_000), qos: 0}, {topic: `$share/g/${levels(MAX_TOPIC_LEVELS + 1)}`, qos: 0}, {topic: levels(MAX_TOPIC_LEVELS), qos: 0}]})
    expect((await v5.next('suback')) as {granted: number[]}).toMatchObject({granted: [0x8f, 0x8f, 0]})
    v5.sendPacket({cmd: 'unsubscribe', messageId: 2, unsubscriptions: [levels(20_000)]})
    expect(((await v5.next('unsuback')) as {granted: number[]}).granted).toEqual([0x8f])
    const v4 = await RawClient.open(b.port)
    await v4.connect()
    v4.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `${levels(20_000)}/#`, qos: 1}]})
    expect((await v4.next('suback')) as {granted: number[]}).toMatchObject({granted: [0x80]})
    expect(impl(b).subscriptions.size).toBe(1)
    await stillServes(b)
  })

  it('a PUBLISH to a topic of more than 128 levels closes that connection (MQTT 5: DISCONNECT 0x90)', async () => {
    const b = track(await startBroker())
    const v5 = await RawClient.open(b.port, {version: 5})
    await v5.connect()
    v5.sendPacket({cmd: 'publish', topic: levels(20_000), payload: Buffer.from('x'), qos: 0, retain: true, dup: false})
    expect(codeOf(await v5.next('disconnect'))).toBe(0x90)
    await v5.waitClosed()
    const v4 = await RawClient.open(b.port)
    await v4.connect()
    v4.sendPacket({cmd: 'publish', topic: levels(MAX_TOPIC_LEVELS + 1), payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false})
    await v4.waitClosed()
    expect(v4.received('puback')).toEqual([])
    expect(impl(b).store.retainedCount).toBe(0)
    await stillServes(b)
  })

  it('a will on a 20,000-level topic is refused at CONNECT (MQTT 5: CONNACK 0x90), and dropping the socket crashes nothing', async () => {
    const b = track(await startBroker())
    const v5 = await RawClient.open(b.port, {version: 5})
    const connack = await v5.connect({will: {topic: levels(20_000), payload: Buffer.from('w'), qos: 0, retain: true}})
    expect(codeOf(connack)).toBe(0x90)
    await v5.waitClosed()
    const v4 = await RawClient.open(b.port)
    v4.sendPacket(v4.connectPacket({will: {topic: levels(20_000), payload: Buffer.from('w'), qos: 0, retain: false}}))
    await v4.waitClosed()
    expect(v4.received('connack').filter((p) => codeOf(p) === 0)).toEqual([])
    await stillServes(b)
  })

  it('the subscription trie and the retained store walk 100,000 levels without recursion', () => {
    const deep = Array.from({length: 100_000}, (_, i) => `l${i}`)
    const root = new TrieNode('')
    const node = insert(root, deep)
    node.oneClient = 'c'
    const plusNode = insert(root, deep.map((l, i) => (i % 2 === 0 ? '+' : l)))
    plusNode.oneClient = 'd'
    const out: TrieNode[] = []
    expect(collect(root, deep.join('/'), out)).toBe(2)
    const retained = new RetainedIndex()
    retained.set({topic: deep.join('/'), payload: Buffer.from('r'), qos: 0})
    expect(retained.match(deep.join('/')).length).toBe(1)
    expect(retained.match(deep.map((l, i) => (i % 3 === 0 ? '+' : l)).join('/')).length).toBe(1)
    expect(retained.match('l0/#').length).toBe(1)
    expect([...retained.all()].length).toBe(1)
  })
})

describe('errors in callbacks are contained', () => {
  it('a deadline whose handler throws is reported; the other due items still run', () => {
    interface Item extends Timed {
      name: string
    }
    const fired: string[] = []
    const failed: string[] = []
    const wheel = new Deadlines<Item>(
      (item) => {
        if (item.name === 'bad') throw new Error('boom')
        fired.push(item.name)
      },
      new ManualClock(10_000),
      (err, item) => failed.push(`${item.name}: ${(err as Error).message}`),
    )
    const bad: Item = {name: 'bad', deadline: 0, bucket: 0}
    const good: Item = {name: 'good', deadline: 0, bucket: 0}
    wheel.schedule(bad, 5_000)
    wheel.schedule(good, 5_000)
    expect(() => wheel.runDue(10_000)).not.toThrow()
    expect(fired).toEqual(['good'])
    expect(failed).toEqual(['bad: boom'])
    wheel.clear()
  })

  it('a will whose publishing throws is logged from the socket close; the broker keeps serving', async () => {
    const logger = memoryLogger()
    const b = track(await startBroker({}, {logger}))
    const broker = impl(b)
    const willTopic = uniqueTopic('will')
    const route = broker.fanout.route.bind(broker.fanout)
    broker.fanout.route = (msg, source) => {
      if (msg.topic === willTopic) throw new Error('route failed')
      route(msg, source)
    }
    const raw = await RawClient.open(b.port)
    await raw.connect({will: {topic: willTopic, payload: Buffer.from('bye'), qos: 0, retain: false}})
    raw.destroy()
    await waitFor(() => logger.errors.length > 0, 5000, 'the error to be logged')
    expect(logger.errors[0]).toMatch(/publishing the will/)
    await stillServes(b)
  })
})

describe('memory follows real bytes', () => {
  it('five bytes declaring a 256 MB frame, before CONNECT: refused (pre-CONNECT cap), no big allocation', async () => {
    const b = track(await startBroker())
    const before = process.memoryUsage().arrayBuffers
    const raws = await Promise.all(Array.from({length: 8}, () => RawClient.open(b.port)))
    for (const r of raws) r.send([0x10, 0xff, 0xff, 0xff, 0x7e]) // 266 MB: under the default maximum packet size
    await Promise.all(raws.map((r) => r.waitClosed()))
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 1024 * 1024)
    await stillServes(b)
  })

  it('after CONNECT, a declared-but-unsent 256 MB PUBLISH costs about the bytes that arrived', async () => {
    const b = track(await startBroker())
    const broker = impl(b)
    const raws = await Promise.all(Array.from({length: 8}, () => RawClient.open(b.port)))
    for (const r of raws) await r.connect({keepalive: 0})
    const received = broker.stats.bytesReceived
    const before = process.memoryUsage().arrayBuffers
    for (const r of raws) r.send([0x30, 0xff, 0xff, 0xff, 0x7e, 0x00, 0x01, 0x61])
    await waitFor(() => broker.stats.bytesReceived >= received + 8 * 8, 5000, 'the headers to arrive')
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 1024 * 1024)
    for (const c of broker.connections) expect(c.rx?.length ?? 0).toBeLessThan(64 * 1024)
    expect(raws.every((r) => !r.isClosed)).toBe(true)
    await stillServes(b)
  })

  it('retained and queued payloads are copies, not views pinning the socket read chunk', async () => {
    const b = track(await startBroker())
    const broker = impl(b)
    const topic = uniqueTopic('pin')
    // A persistent 3.1.1 session with a QoS 1 subscription, offline: its messages are queued.
    const sub = await RawClient.open(b.port)
    await sub.connect({clientId: 'pin-sub', clean: false})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `${topic}/q`, qos: 1}]})
    await sub.next('suback')
    sub.destroy()
    await waitFor(() => !broker.clients.has('pin-sub'), 5000, 'the subscriber to leave')
    const raw = await RawClient.open(b.port)
    await raw.connect()
    const padding = encode({cmd: 'publish', topic: `${topic}/pad`, payload: Buffer.alloc(30_000, 1), qos: 0, retain: false, dup: false})
    const retained = encode({cmd: 'publish', topic: `${topic}/r`, payload: Buffer.from('tiny'), qos: 0, retain: true, dup: false})
    const queued = encode({cmd: 'publish', topic: `${topic}/q`, payload: Buffer.from('tiny'), qos: 1, messageId: 7, retain: false, dup: false})
    raw.send(Buffer.concat([padding, retained, queued])) // one write: most likely one read chunk
    await raw.next('puback')
    const stored = broker.store.matchRetained(`${topic}/r`, broker.clock.now())[0]
    expect(stored.payload.toString()).toBe('tiny')
    expect(stored.payload.buffer.byteLength).toBeLessThan(1024)
    const q = broker.store.getSession('pin-sub')!.queue!
    expect(q[0].msg.payload.toString()).toBe('tiny')
    expect(q[0].msg.payload.buffer.byteLength).toBeLessThan(1024)
  })
})

describe('a client that floods without reading', () => {
  it('is no longer read once maxQueuedBytes are unsent: broker memory stays bounded, others are served', async () => {
    const cap = 64 * 1024
    const b = track(await startBroker({limits: {...DEFAULT_CONFIG.limits, maxQueuedBytes: cap}}))
    const broker = impl(b)
    const raw = await RawClient.open(b.port)
    await raw.connect({clientId: 'flooder', keepalive: 0})
    raw.socket.pause() // never read what the broker sends
    const conn = broker.clients.get('flooder') as Connection
    const total = 24 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024)
    for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0xc0 // PINGREQ: every 2 bytes in make 2 bytes out
    let maxPending = 0
    const sampler = setInterval(() => (maxPending = Math.max(maxPending, conn.pendingBytes)), 1)
    try {
      for (let sent = 0; sent < total; sent += chunk.length) raw.send(chunk)
      const start = broker.stats.bytesReceived
      // Until the broker has read everything, or its pending output is far past the cap, or it stopped reading.
      let last = -1
      let still = 0
      await waitFor(
        () => {
          const got = broker.stats.bytesReceived - start
          still = got === last ? still + 1 : 0
          last = got
          return got >= total - 1024 * 1024 || maxPending > 8 * 1024 * 1024 || still >= 20
        },
        60_000,
        'the flood to settle',
      )
    } finally {
      clearInterval(sampler)
    }
    maxPending = Math.max(maxPending, conn.pendingBytes)
    // Bounded by the cap plus one turn's reads worth of answers (64 KB read budget), not by the flood.
    expect(maxPending).toBeLessThan(cap + 512 * 1024)
    expect(raw.isClosed).toBe(false)
    await stillServes(b)
  }, 90_000)
})

describe('bookkeeping fixes', () => {
  it('a retained message found expired on SUBSCRIBE is deleted and counted (messagesExpired, retainedMessages)', async () => {
    const b = track(await startBroker())
    const broker = impl(b)
    const topic = uniqueTopic('expired')
    broker.store.setRetained({topic, payload: Buffer.from('old'), qos: 0, expiresAt: Date.now() - 1000})
    broker.stats.retainedMessages = broker.store.retainedCount
    const expiredBefore = broker.stats.messagesExpired
    const raw = await RawClient.open(b.port, {version: 5})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 0}]})
    await raw.next('suback')
    await raw.ping()
    expect(raw.received('publish')).toEqual([])
    expect(broker.stats.messagesExpired).toBe(expiredBefore + 1)
    expect(broker.stats.retainedMessages).toBe(0)
  })

  it('a message dropped for the client maximum packet size does not register a topic alias', async () => {
    const b = track(await startBroker())
    const topic = uniqueTopic('alias')
    const raw = await RawClient.open(b.port, {version: 5})
    await raw.connect({properties: {topicAliasMaximum: 5, maximumPacketSize: 200}})
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 0}]})
    await raw.next('suback')
    const pub = await connect(b.url)
    await pub.publishAsync(topic, Buffer.alloc(500, 0x61)) // too large for the client: dropped
    await pub.publishAsync(topic, 'small')
    const p = (await raw.next('publish')) as {topic: string; payload: Buffer; properties?: {topicAlias?: number}}
    expect(p.payload.toString()).toBe('small')
    // The first message the client sees on this topic sets the alias: it carries the topic name.
    expect(p.topic).toBe(topic)
  })

  it('a failed listen() leaves no restored subscription; the next listen() counts each stored session once', async () => {
    const {MemoryStore} = await import('../../../src/broker/persistence/memory.js')
    const {createBroker} = await import('../../../src/broker/index.js')
    const store = new MemoryStore()
    const session = store.createSession('stored', 3600)
    store.addSubscription(session, 'stored/topic', {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0})
    const taken = track(await startBroker())
    const listeners = [
      {host: '127.0.0.1', port: 0},
      {host: '127.0.0.1', port: taken.port}, // in use: listen() fails
    ]
    const broker = createBroker({...DEFAULT_CONFIG, listeners}, {store}) as unknown as BrokerImpl
    track({close: () => broker.close()})
    await expect(broker.listen()).rejects.toThrow()
    expect(broker.subscriptions.size).toBe(0)
    expect(broker.stats.sessionsOrphan).toBe(0)
    listeners[1].port = 0
    await broker.listen()
    expect(broker.subscriptions.size).toBe(1)
    expect(broker.stats.sessionsOrphan).toBe(1)
    await expect(broker.listen()).rejects.toThrow(/already listening/)
    expect(broker.stats.sessionsOrphan).toBe(1)
  })
})
