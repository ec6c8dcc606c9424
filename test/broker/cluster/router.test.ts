/**
 * Three broker nodes over a 3-server NATS cluster (routes, JetStream), with real MQTT clients:
 * publish on one node, receive on another (3.1.1 and 5.0, user properties in order, subscription
 * identifiers, message expiry), retained messages through the stream, shared groups across nodes,
 * $SYS staying per node, and one NATS server killed under traffic.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {IClientPublishOptions} from 'mqtt'
import {type NatsServer, startNatsCluster} from '../../helpers/nats.js'
import {type StartedNode, startNode} from '../../helpers/cluster.js'
import {type MqttClient, type Received, closeAll, collect, connackOf, connect, sleep, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {ManualClock} from '../../helpers/clock.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'

let nats: NatsServer[]

beforeAll(async () => {
  nats = await startNatsCluster(3)
}, 30_000)
afterAll(async () => {
  await Promise.all((nats ?? []).map((s) => s.stop()))
})
afterEach(closeAll)

/** Publishes `probe` on `pub` until `sub` got one: interest has travelled through NATS's routes. */
async function untilRouted(pub: MqttClient, topic: string, sub: MqttClient, timeoutMs = 10_000): Promise<void> {
  const inbox = collect(sub)
  const deadline = Date.now() + timeoutMs
  while (!inbox.messages.some((m) => m.topic === topic && m.payload.toString() === 'probe')) {
    if (Date.now() > deadline) throw new Error(`no probe on ${topic} after ${timeoutMs} ms`)
    await pub.publishAsync(topic, 'probe', {qos: 0})
    await sleep(20)
  }
  await sleep(200) // the probes still on their way
  inbox.messages.length = 0
}

/** The test's own messages: probes that arrived late left out. */
function real(client: MqttClient): Received[] {
  return collect(client).messages.filter((m) => m.payload.toString() !== 'probe')
}

async function waitReal(client: MqttClient, n: number, timeoutMs = 5000): Promise<Received[]> {
  await waitFor(() => real(client).length >= n, timeoutMs, `${n} message(s) (got ${real(client).length})`)
  return real(client)
}

let prefixSeq = 0
async function threeNodes(options: Parameters<typeof startNode>[1] = {}): Promise<StartedNode[]> {
  const prefix = `r${process.pid}x${++prefixSeq}`
  return Promise.all(nats.map((s, i) => startNode([s.url], {name: `node-${'abc'[i]}`, prefix, ...options})))
}

describe('cluster of three nodes', () => {
  it.each([4, 5] as const)('MQTT %i: a message published on A reaches B (QoS 0, 1, 2), never twice, and not back to A', async (version) => {
    const [a, b] = await threeNodes()
    const topic = uniqueTopic('hop')
    const sub = await connect(b.url, {protocolVersion: version, clientId: `sub-${version}`})
    await sub.subscribeAsync(`${topic}/#`, {qos: 2})
    await sub.subscribeAsync(`${topic}/+`, {qos: 2}) // overlapping filters on one node: still one copy each
    const local = await connect(a.url, {protocolVersion: version})
    await local.subscribeAsync(`${topic}/#`, {qos: 1})
    const pub = await connect(a.url, {protocolVersion: version})
    await untilRouted(pub, `${topic}/p`, sub)
    collect(local).messages.length = 0
    for (const qos of [0, 1, 2] as const) await pub.publishAsync(`${topic}/q${qos}`, `m${qos}`, {qos})
    await waitReal(sub, 3)
    await sleep(100)
    const got = real(sub)
    expect(got.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
      [`${topic}/q0`, 'm0', 0],
      [`${topic}/q1`, 'm1', 1],
      [`${topic}/q2`, 'm2', 2],
    ])
    // The publishing node's own subscriber got each once (local fan-out; NATS does not echo it back).
    await waitReal(local, 3)
    await sleep(100)
    expect(real(local).map((m) => m.payload.toString())).toEqual(['m0', 'm1', 'm2'])
  })

  it('MQTT 5 properties cross the hop: user properties in order, subscription identifiers, expiry, correlation data', async () => {
    const [a, b] = await threeNodes()
    const topic = uniqueTopic('props')
    const sub = await connect(b.url, {protocolVersion: 5})
    await sub.subscribeAsync(`${topic}/#`, {qos: 1, properties: {subscriptionIdentifier: 7}})
    await sub.subscribeAsync(`${topic}/+`, {qos: 1, properties: {subscriptionIdentifier: 9}})
    const pub = await connect(a.url, {protocolVersion: 5})
    await untilRouted(pub, `${topic}/p`, sub)
    const opts: IClientPublishOptions = {
      qos: 1,
      properties: {
        userProperties: {z: ['first', 'third'], a: 'second', 'ü ber': ' spaced '},
        contentType: 'application/json',
        responseTopic: `${topic}/reply`,
        correlationData: Buffer.from([1, 2, 3, 0, 255]),
        payloadFormatIndicator: true,
        messageExpiryInterval: 120,
      },
    }
    await pub.publishAsync(`${topic}/x`, '{"v":1}', opts)
    const m = await collect(sub).waitPayload('{"v":1}')
    const p = m.packet.properties!
    expect(p.userProperties).toEqual({z: ['first', 'third'], a: 'second', 'ü ber': ' spaced '})
    expect(Object.keys(p.userProperties!)).toEqual(['z', 'a', 'ü ber'])
    expect(p.contentType).toBe('application/json')
    expect(p.responseTopic).toBe(`${topic}/reply`)
    expect(Buffer.from(p.correlationData!)).toEqual(Buffer.from([1, 2, 3, 0, 255]))
    expect(p.payloadFormatIndicator).toBe(true)
    expect([...(p.subscriptionIdentifier as number[])].sort()).toEqual([7, 9])
    expect(p.messageExpiryInterval).toBeGreaterThanOrEqual(118)
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(120)
  })

  it('message expiry keeps counting on the receiving node: queued for an offline session, then delivered with the time left', async () => {
    const clock = new ManualClock()
    const prefix = `exp${process.pid}`
    const a = await startNode([nats[0].url], {prefix})
    const b = await startNode([nats[1].url], {prefix, clock})
    const topic = uniqueTopic('exp')
    const sub = await connect(b.url, {protocolVersion: 5, clientId: 'exp-sub', clean: false, properties: {sessionExpiryInterval: 600}})
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(a.url, {protocolVersion: 5})
    await untilRouted(pub, topic, sub)
    await sub.endAsync()
    await pub.publishAsync(topic, 'expires', {qos: 1, properties: {messageExpiryInterval: 60}})
    await pub.publishAsync(topic, 'expired', {qos: 1, properties: {messageExpiryInterval: 5}})
    await waitFor(() => b.broker.stats.messagesQueued === 2, 5000, 'two messages queued on B')
    clock.advance(20_000)
    const again = await connect(b.url, {protocolVersion: 5, clientId: 'exp-sub', clean: false, properties: {sessionExpiryInterval: 600}})
    const [m] = await collect(again).waitCount(1)
    await sleep(100)
    expect(collect(again).payloads()).toEqual(['expires'])
    expect(m.packet.properties?.messageExpiryInterval).toBe(40)
  })

  it('MQTT 3.1.1 publisher to MQTT 5 subscriber and back', async () => {
    const [a, , c] = await threeNodes()
    const topic = uniqueTopic('mix')
    const sub5 = await connect(c.url, {protocolVersion: 5})
    await sub5.subscribeAsync(topic, {qos: 1})
    const pub4 = await connect(a.url, {protocolVersion: 4})
    await untilRouted(pub4, topic, sub5)
    await pub4.publishAsync(topic, 'from 3.1.1', {qos: 1})
    await collect(sub5).waitPayload('from 3.1.1')
    const sub4 = await connect(a.url, {protocolVersion: 4})
    await sub4.subscribeAsync(topic, {qos: 1})
    await untilRouted(sub5, topic, sub4)
    await sub5.publishAsync(topic, 'from 5', {qos: 1, properties: {userProperties: {k: 'v'}}})
    await collect(sub4).waitPayload('from 5')
  })

  it('a retained message published on A is seen by a new subscriber on C; an empty one deletes it everywhere', async () => {
    const [a, b, c] = await threeNodes()
    const topic = uniqueTopic('ret')
    const pub = await connect(a.url, {protocolVersion: 5})
    await pub.publishAsync(topic, 'kept', {qos: 1, retain: true, properties: {userProperties: {r: '1'}}})
    await waitFor(() => c.broker.impl.store.matchRetained(topic, Date.now()).length === 1, 10_000, 'the retained message on C')
    const sub = await connect(c.url, {protocolVersion: 5})
    await sub.subscribeAsync(topic, {qos: 1})
    const [m] = await collect(sub).waitCount(1)
    expect(m.payload.toString()).toBe('kept')
    expect(m.packet.retain).toBe(true)
    expect(m.packet.properties?.userProperties).toEqual({r: '1'})
    await pub.publishAsync(topic, '', {qos: 1, retain: true})
    // The topic itself, not the retained count: each node's $SYS topics are retained too once its first statistics tick ran.
    const held = (n: StartedNode) => n.broker.impl.store.matchRetained(topic, Date.now()).length
    await waitFor(() => held(b) === 0 && held(c) === 0, 10_000, 'deleted on B and C')
    const late = await connect(b.url, {protocolVersion: 5})
    await late.subscribeAsync(topic, {qos: 1})
    await sleep(200)
    expect(collect(late).messages).toEqual([])
  })

  it('a shared group with members on A and B gets each message once', async () => {
    const [a, b, c] = await threeNodes()
    const topic = uniqueTopic('share')
    const m1 = await connect(a.url, {protocolVersion: 5})
    const m2 = await connect(b.url, {protocolVersion: 5})
    const m3 = await connect(b.url, {protocolVersion: 5})
    for (const m of [m1, m2, m3]) await m.subscribeAsync(`$share/g/${topic}/#`, {qos: 1})
    const pub = await connect(c.url, {protocolVersion: 5})
    // Interest: probe until some member got one, then clear everyone's inbox.
    const all = () => [m1, m2, m3].flatMap((m) => collect(m).messages)
    const deadline = Date.now() + 10_000
    while (all().length === 0 || !all().some((m) => m.payload.toString() === 'probe')) {
      if (Date.now() > deadline) throw new Error('no shared delivery')
      await pub.publishAsync(`${topic}/p`, 'probe')
      await sleep(20)
    }
    await sleep(200)
    for (const m of [m1, m2, m3]) collect(m).messages.length = 0
    const n = 300
    for (let i = 0; i < n; i++) pub.publish(`${topic}/${i % 5}`, String(i), {qos: 1})
    await waitFor(() => all().length >= n, 10_000, `${n} shared deliveries (got ${all().length})`)
    await sleep(200)
    const seen = all().map((m) => Number(m.payload.toString()))
    expect(seen.length).toBe(n)
    expect(new Set(seen).size).toBe(n)
    // Members on both nodes took part.
    expect(collect(m1).messages.length).toBeGreaterThan(0)
    expect(collect(m2).messages.length + collect(m3).messages.length).toBeGreaterThan(0)
  })

  it('$SYS has the node\'s cluster figures and the cluster totals', async () => {
    const [a, b, c] = await threeNodes({config: {statsInterval: 1}})
    await connect(a.url)
    await connect(a.url)
    await connect(c.url)
    const sys = await connect(b.url, {protocolVersion: 5})
    await sys.subscribeAsync('$SYS/broker/mqttctl/cluster/#')
    const latest = new Map<string, string>()
    const seen = (): Map<string, string> => {
      for (const m of collect(sys).messages) latest.set(m.topic.slice('$SYS/broker/mqttctl/cluster/'.length), m.payload.toString())
      return latest
    }
    await waitFor(() => seen().get('nodes') === '3' && seen().get('total/clients/connected') === '4', 10_000, `cluster totals (got ${JSON.stringify(Object.fromEntries(latest))})`)
    expect(latest.get('node')).toBe('node-b')
    expect(latest.get('connected')).toBe('1')
    expect(b.broker.node.peers.size).toBe(2)
  })

  it('$SYS stays on its node', async () => {
    const [a, b] = await threeNodes()
    const sub = await connect(b.url, {protocolVersion: 5})
    await sub.subscribeAsync('$SYS/test/#', {qos: 0})
    const probe = uniqueTopic('sysprobe')
    await sub.subscribeAsync(probe)
    const pub = await connect(a.url)
    await untilRouted(pub, probe, sub)
    a.broker.publish('$SYS/test/x', 'from A')
    b.broker.publish('$SYS/test/x', 'from B')
    await waitReal(sub, 1)
    await sleep(200)
    expect(real(sub).map((m) => m.payload.toString())).toEqual(['from B'])
  })
})

describe('sessions across nodes', () => {
  it.each([4, 5] as const)('MQTT %i: a persistent session moves from A to B with its queued messages', async (version) => {
    const [a, b, c] = await threeNodes()
    const topic = uniqueTopic('mv')
    const id = `mover-${version}-${process.pid}`
    const persistent = version === 5 ? {clean: false, properties: {sessionExpiryInterval: 600}} : {clean: false}
    const first = await connect(a.url, {protocolVersion: version, clientId: id, ...persistent})
    await first.subscribeAsync(`${topic}/#`, {qos: 1})
    const pub = await connect(c.url, {protocolVersion: version})
    await untilRouted(pub, `${topic}/p`, first)
    await first.endAsync()
    await waitFor(() => a.broker.stats.sessionsOrphan === 1, 5000, 'the session waiting on A')
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/${i}`, `queued ${i}`, {qos: 1})
    await waitFor(() => a.broker.stats.messagesQueued === 5, 5000, 'five messages queued on A')
    const again = await connect(b.url, {protocolVersion: version, clientId: id, ...persistent})
    expect(connackOf(again).sessionPresent).toBe(true)
    await collect(again).waitCount(5)
    expect(collect(again).payloads()).toEqual([0, 1, 2, 3, 4].map((i) => `queued ${i}`))
    expect(a.broker.stats.sessionsTotal).toBe(0)
    expect(a.broker.stats.messagesQueued).toBe(0)
    // The subscription moved too: new messages reach the client on B.
    await untilRouted(pub, `${topic}/p`, again)
    await pub.publishAsync(`${topic}/after`, 'after the move', {qos: 1})
    await collect(again).waitPayload('after the move')
  })

  it('a session restored from a node\'s store at start is found from another node', async () => {
    const prefix = `rs${process.pid}`
    const store = new MemoryStore()
    const s = store.createSession('restored', 600)
    s.subscriptions.set('rs/#', {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0})
    store.enqueue(s, {msg: {topic: 'rs/1', payload: Buffer.from('kept across the restart'), qos: 1, retain: false, expiresAt: 0}, qos: 1, retain: false, packetId: 0, released: false, sent: false})
    s.queuedBytes = 64
    const a = await startNode([nats[0].url], {prefix, store})
    const b = await startNode([nats[1].url], {prefix})
    await waitFor(() => a.broker.node.sessionStats.holding === 1, 5000, 'A announces the restored session')
    await a.broker.node.flush()
    const client = await connect(b.url, {protocolVersion: 5, clientId: 'restored', clean: false, properties: {sessionExpiryInterval: 600}})
    expect(connackOf(client).sessionPresent).toBe(true)
    await collect(client).waitPayload('kept across the restart')
    expect(a.broker.stats.sessionsTotal).toBe(0)
  })

  it('a client connecting to B takes over its connection on A (MQTT 5 DISCONNECT 0x8E)', async () => {
    const [a, b] = await threeNodes()
    const id = `taken-${process.pid}`
    const old = await connect(a.url, {protocolVersion: 5, clientId: id})
    const reasons: number[] = []
    old.on('disconnect', (p) => reasons.push(p.reasonCode ?? -1))
    await waitFor(() => a.broker.node.sessionStats.holding >= 1, 5000, 'A announces the client')
    await a.broker.node.flush()
    const fresh = await connect(b.url, {protocolVersion: 5, clientId: id})
    expect(connackOf(fresh).sessionPresent).toBe(false)
    await waitFor(() => reasons.length === 1, 5000, 'DISCONNECT on the old connection')
    expect(reasons).toEqual([0x8e])
    expect(a.broker.clientCount()).toBe(0)
    expect(b.broker.clientCount()).toBe(1)
    expect(a.broker.node.sessionStats.takeovers).toBe(1)
  })
})

describe('NATS server loss', () => {
  it('kill -9 of one NATS server of three: nodes on the others keep exchanging messages, the node on it rejoins through another server', async () => {
    const own = await startNatsCluster(3, {jetstream: false})
    try {
      const prefix = `kill${process.pid}`
      const all = own.map((s) => s.url)
      // Each node lists every server, its own first: NATS fails over.
      const a = await startNode([all[0], all[1], all[2]], {prefix})
      const b = await startNode([all[1], all[2], all[0]], {prefix})
      const c = await startNode([all[2], all[0], all[1]], {prefix})
      const topic = uniqueTopic('nk')
      const subB = await connect(b.url)
      await subB.subscribeAsync(topic, {qos: 1})
      const subC = await connect(c.url)
      await subC.subscribeAsync(topic, {qos: 1})
      const pub = await connect(a.url)
      await untilRouted(pub, topic, subB)
      await untilRouted(pub, topic, subC)
      const mine = own.find((n) => a.broker.node.server === `127.0.0.1:${n.port}`)!
      expect(mine).toBeDefined()
      await mine.kill() // the server A is connected to
      // A fails over to another server and rejoins; C keeps receiving meanwhile.
      await waitFor(() => a.broker.node.stats.disconnects >= 1, 10_000, 'A sees the loss')
      await waitFor(() => a.broker.node.connected, 15_000, 'A rejoins through another server')
      await untilRouted(pub, topic, subB, 15_000)
      await untilRouted(pub, topic, subC, 15_000)
      for (let i = 0; i < 50; i++) await pub.publishAsync(topic, `after ${i}`, {qos: 1})
      await waitReal(subB, 50, 10_000)
      await waitReal(subC, 50, 10_000)
      expect(real(subB).map((m) => m.payload.toString())).toEqual(Array.from({length: 50}, (_, i) => `after ${i}`))
    } finally {
      // Nodes and clients first, while their NATS servers still run (found by a loaded full run: the
      // nodes' JetStream and drain steps against stopped servers overran the 20 s afterEach hook).
      await closeAll()
      await Promise.all(own.map((s) => s.stop()))
    }
  }, 60_000)
})
