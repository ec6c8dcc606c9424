/**
 * QoS 1/2 to persistent sessions on another node through JetStream (src/broker/cluster/durable.ts),
 * end to end: two broker nodes, one real nats-server with JetStream (store in a temporary directory),
 * real MQTT clients. The publisher's PUBACK comes only after JetStream stored the copy; node B gets
 * every acknowledged message through its durable consumer even while it is down (the core NATS copy
 * is not what it relies on); the queue is then found by the client reconnecting to node A; a refusal
 * by JetStream is a refused PUBACK, a full stream a dropped copy; repeats are delivered once;
 * malformed copies and interest records are dropped.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {DiscardPolicy, RetentionPolicy, StorageType, headers as natsHeaders} from 'nats'
import {type StartedNode, startNode} from '../../helpers/cluster.js'
import {collect, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {jetStreamEnv} from './fixtures/jetstream-env.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {ID_HEADER, durableStreamName} from '../../../src/broker/cluster/durable.js'
import {SubjectMap} from '../../../src/broker/cluster/subjects.js'
import {APPLIED_ROOT, AppliedMarks} from '../../../src/broker/cluster/applied.js'

const env = jetStreamEnv()

let seq = 0
const newPrefix = () => `d${process.pid}x${++seq}`

/** Two nodes; B holds a persistent MQTT 5 session subscribed to `<topic>/#` at QoS 1; A knows it. */
async function setup(prefix: string, topic: string, storeB = new MemoryStore()) {
  const a = await startNode([env.nats.url], {name: 'node-a', prefix})
  const b = await startNode([env.nats.url], {name: 'node-b', prefix, store: storeB})
  const sub = await connect(b.url, {protocolVersion: 5, clientId: `dur-${prefix}`, clean: false, properties: {sessionExpiryInterval: 600}})
  await sub.subscribeAsync(`${topic}/#`, {qos: 1})
  await waitFor(() => a.broker.node.durableTargets(`${topic}/x`).includes('node-b'), 10_000, 'A learns B\'s durable interest')
  return {a, b, sub, storeB}
}

const payloads = (ms: Array<{payload: Buffer}>) => ms.map((m) => m.payload.toString())

describe('QoS 1/2 to persistent sessions on another node through JetStream', () => {
  it('PUBACK after the JetStream ack; B gets everything, also what was sent while it was down; the queue follows the client to A', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('dur')
    const {a, b, sub, storeB} = await setup(prefix, topic)
    const inbox = collect(sub)
    const pub = await connect(a.url, {protocolVersion: 5})
    // (That the PUBACK waits for JetStream's answer is shown by the refusal test below.)
    for (let i = 0; i < 20; i++) await pub.publishAsync(`${topic}/m`, `live-${i}`, {qos: i % 2 === 0 ? 1 : 2})
    expect(a.broker.clusterStats.durableOut).toBe(20)
    await waitFor(() => inbox.messages.length >= 20, 10_000, '20 live messages on B')
    expect(payloads(inbox.messages)).toEqual(Array.from({length: 20}, (_, i) => `live-${i}`))
    // Through B's JetStream consumer, not the core copy (which B ignores: it names B in Mqtt-Js).
    expect(b.broker.clusterStats.durableIn).toBe(20)
    expect(b.broker.clusterStats.imported).toBe(0)

    // B goes away (its persistent session stays in its store); A keeps publishing, PUBACKs keep coming.
    await sub.endAsync()
    await b.close()
    for (let i = 0; i < 30; i++) await pub.publishAsync(`${topic}/m`, `offline-${i}`, {qos: 1})
    expect(a.broker.clusterStats.durableOut).toBe(50)
    const jsm = await env.nc.jetstreamManager()
    const pending = await jsm.consumers.info(durableStreamName(prefix), 'node_node-b')
    expect(pending.num_pending + pending.num_ack_pending).toBe(30)

    // B comes back under the same name: its consumer hands it the 30 copies, queued for the session.
    const b2 = await startNode([env.nats.url], {name: 'node-b', prefix, store: storeB})
    await waitFor(() => b2.broker.clusterStats.durableIn === 30, 10_000, 'B reads its 30 copies')
    // The client reconnects to A, not B: its session and queue move from B to A.
    const back = await connect(a.url, {protocolVersion: 5, clientId: `dur-${prefix}`, clean: false, properties: {sessionExpiryInterval: 600}})
    const again = collect(back)
    await waitFor(() => again.messages.length >= 30, 10_000, `30 queued messages on A (got ${again.messages.length})`)
    expect(payloads(again.messages)).toEqual(Array.from({length: 30}, (_, i) => `offline-${i}`))
    await waitFor(async () => (await jsm.consumers.info(durableStreamName(prefix), 'node_node-b')).num_ack_pending === 0, 5000, 'B acked every copy')
  }, 60_000)

  it('durable interest outlives processes: A restarted while B is down still writes B\'s copies; an expired session\'s filters go', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('restart')
    const {a, b, sub, storeB} = await setup(prefix, topic)
    await sub.endAsync()
    await b.close()
    await a.close()
    // A new process on A's side, started while B is down: it reads B's filters from JetStream.
    const a2 = await startNode([env.nats.url], {name: 'node-a', prefix})
    await waitFor(() => a2.broker.node.durableTargets(`${topic}/m`).includes('node-b'), 10_000, 'A2 knows B\'s durable interest')
    const pub = await connect(a2.url, {protocolVersion: 5})
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/m`, `while-down-${i}`, {qos: 1})
    expect(a2.broker.clusterStats.durableOut).toBe(5)
    // B comes back without that session (it expired meanwhile): B withdraws the filter from JetStream.
    expect(storeB.getSession(`dur-${prefix}`)).toBeDefined()
    storeB.deleteSession(`dur-${prefix}`)
    const b2 = await startNode([env.nats.url], {name: 'node-b', prefix, store: storeB})
    await waitFor(() => a2.broker.node.durableTargets(`${topic}/m`).length === 0, 10_000, 'B\'s expired filter withdrawn')
    await waitFor(() => b2.broker.clusterStats.durableIn === 5, 10_000, 'B still reads the 5 copies written for it')
  }, 60_000)

  it('a copy JetStream refuses is a refused PUBACK (MQTT 5 0x97), not a silent loss', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('refuse')
    const {a} = await setup(prefix, topic)
    const jsm = await env.nc.jetstreamManager()
    await jsm.streams.delete(durableStreamName(prefix))
    const pub = await connect(a.url, {protocolVersion: 5})
    await expect(pub.publishAsync(`${topic}/m`, 'x', {qos: 1})).rejects.toThrow(/quota|0x97|151/i)
    expect(a.broker.clusterStats.durableErrors).toBe(1)
    // QoS 0 and topics without durable interest elsewhere never wait for JetStream.
    await pub.publishAsync(`${topic}/m`, 'y', {qos: 0})
    await pub.publishAsync(`${uniqueTopic('other')}/m`, 'z', {qos: 1})
    expect(a.broker.clusterStats.durableErrors).toBe(1)
  }, 30_000)

  it('a full stream drops the copy (counted), as a full session queue does, without refusing the PUBACK', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('full')
    const jsm = await env.nc.jetstreamManager()
    // A stream bounded to 5 messages, made before the nodes (they use an existing one as it is).
    await jsm.streams.add({name: durableStreamName(prefix), subjects: [`${prefix}.d.>`], retention: RetentionPolicy.Workqueue, storage: StorageType.File, discard: DiscardPolicy.New, max_msgs: 5})
    const {a, b, sub, storeB} = await setup(prefix, topic)
    await sub.endAsync()
    await b.close()
    const pub = await connect(a.url, {protocolVersion: 5})
    for (let i = 0; i < 8; i++) await pub.publishAsync(`${topic}/m`, `m-${i}`, {qos: 1})
    expect(a.broker.clusterStats.durableOut).toBe(5)
    expect(a.broker.clusterStats.durableDropped).toBe(3)
    expect(a.broker.clusterStats.durableErrors).toBe(0)
    const b2 = await startNode([env.nats.url], {name: 'node-b', prefix, store: storeB})
    await waitFor(() => b2.broker.clusterStats.durableIn === 5, 10_000, 'B reads the 5 stored copies')
    const back = await connect(b2.url, {protocolVersion: 5, clientId: `dur-${prefix}`, clean: false, properties: {sessionExpiryInterval: 600}})
    const inbox = collect(back)
    await waitFor(() => inbox.messages.length >= 5, 10_000, '5 queued messages')
    expect(payloads(inbox.messages)).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4'])
  }, 60_000)

  it('the applied marks kept in B\'s store are pruned as JetStream\'s acknowledgement floor passes them (every 500 acks, and at start)', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('prune')
    const {a, b, sub, storeB} = await setup(prefix, topic)
    const marks = () => storeB.matchRetained(`${APPLIED_ROOT}/+`, Date.now()).length
    await sub.endAsync() // offline: every copy is queued in B's store
    const pub = await connect(a.url, {protocolVersion: 5})
    await Promise.all(Array.from({length: 520}, (_, i) => pub.publishAsync(`${topic}/m`, `p${i}`, {qos: 1})))
    await waitFor(() => b.broker.clusterStats.durableIn === 520, 20_000, 'B applies 520 copies')
    await waitFor(() => marks() <= 20, 10_000, `marks pruned after 500 acks (${marks()} left)`)
    // Not counted as retained messages (the node's own $SYS topics are, once its first tick ran).
    expect(b.broker.stats.retainedMessages).toBe(storeB.retainedCount - marks())
    await b.close()
    // At start, B prunes marks of copies JetStream has its ack for (left by a crash after the ack).
    new AppliedMarks(storeB).mark(3, 'left-by-a-crash')
    expect(marks()).toBeGreaterThan(0)
    const b2 = await startNode([env.nats.url], {name: 'node-b', prefix, store: storeB})
    await waitFor(() => marks() === 0, 10_000, `marks pruned at start (${marks()} left)`)
    expect(b2.broker.clusterStats.durableIn).toBe(0)
  }, 60_000)

  it('durable interest records are checked: a bad token, a key that is not the filter\'s, an invalid filter are ignored', async () => {
    const prefix = newPrefix()
    const a = await startNode([env.nats.url], {name: 'node-a', prefix})
    const js = env.nc.jetstream()
    const key = (f: string) => createHash('sha256').update(f).digest('base64url')
    const base = `${prefix}.n.dk`
    await js.publish(`${base}.bad$token.${key('#')}`, Buffer.from('#'))
    await js.publish(`${base}.evil.${key('other')}`, Buffer.from('#'))
    await js.publish(`${base}.evil.${key('a/#/b')}`, Buffer.from('a/#/b'))
    await js.publish(`${base}.evil.${key('$share/g/#')}`, Buffer.from('$share/g/#'))
    await js.publish(`${base}.good.${key('z/#')}`, Buffer.from('z/#'))
    await waitFor(() => a.broker.node.durableTargets('z/1').includes('good'), 10_000, 'the good record')
    expect(a.broker.node.durableTargets('q/1')).toEqual([])
    expect(a.broker.node.durableTargets('a/x/b')).toEqual([])
    // Withdrawn: an empty record under the same key.
    await js.publish(`${base}.good.${key('z/#')}`, Buffer.alloc(0))
    await waitFor(() => a.broker.node.durableTargets('z/1').length === 0, 10_000, 'the record withdrawn')
  }, 30_000)

  it('a repeated message id is delivered once; a malformed copy is dropped and counted', async () => {
    const prefix = newPrefix()
    const topic = uniqueTopic('dedupe')
    const {b, sub} = await setup(prefix, topic)
    const inbox = collect(sub)
    const js = env.nc.jetstream()
    const subject = new SubjectMap({prefix}, 'd.node-b').topic(`${topic}/m`)!
    const copy = (id: string, extra?: [string, string]) => {
      const h = natsHeaders()
      h.set('Mqtt-Qos', '2')
      h.set(ID_HEADER, id)
      if (extra) h.set(...extra)
      return h
    }
    // Different JetStream ids (JetStream's own deduplication does not catch them), one message id.
    await js.publish(subject, Buffer.from('once'), {headers: copy('run-1'), msgID: 'js-1'})
    await js.publish(subject, Buffer.from('once'), {headers: copy('run-1'), msgID: 'js-2'})
    await js.publish(subject, Buffer.from('bad'), {headers: copy('run-2', ['Mqtt-Retain', 'maybe']), msgID: 'js-3'})
    await js.publish(subject, Buffer.from('after'), {headers: copy('run-3'), msgID: 'js-4'})
    await waitFor(() => inbox.messages.some((m) => m.payload.toString() === 'after'), 10_000, 'the last copy')
    expect(payloads(inbox.messages)).toEqual(['once', 'after'])
    expect(inbox.messages[0].packet.qos).toBe(1) // the subscription's QoS
    expect(b.broker.clusterStats.durableDuplicates).toBe(1)
    expect(b.broker.clusterStats.malformed).toBe(1)
  }, 30_000)
})
