/**
 * A client whose session's node is DOWN reconnects to another node (src/broker/cluster/orphans.ts,
 * directory.ts): it finds its session (subscriptions, expiry) and the QoS 1/2 messages JetStream holds
 * for the dead node; the dead node, back, lets the session go (fencing) and delivers nothing of it.
 * Node A is a real process (durable store, kill -9), B and C in-process nodes; real nats-server with
 * JetStream, real MQTT clients. What A had stored for the session before it died, and copies only A
 * got after the take-over, reach it late, forwarded when A is back.
 */
import {headers as natsHeaders} from 'nats'
import {describe, expect, it} from 'vitest'
import {sessionStreamName, sessionSubject} from '../../../src/broker/cluster/directory.js'
import {FOR_HEADER, ID_HEADER, JS_HEADER, durableStreamName} from '../../../src/broker/cluster/durable.js'
import {SubjectMap} from '../../../src/broker/cluster/subjects.js'
import {startNode} from '../../helpers/cluster.js'
import {collect, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {jetStreamEnv} from './fixtures/jetstream-env.js'
import {spawnNode} from './fixtures/spawn-node.js'

const env = jetStreamEnv()

const session = (id: string) => ({protocolVersion: 5 as const, clientId: id, clean: false, properties: {sessionExpiryInterval: 600}})
const texts = (ms: Array<{payload: Buffer}>) => ms.map((m) => m.payload.toString())

/** The session's directory record as JetStream holds it: undefined (none), {} (ended) or the entry. */
async function recordOf(prefix: string, clientId: string) {
  const jsm = await env.nc.jetstreamManager()
  const stream = sessionStreamName(prefix)
  try {
    const m = await jsm.streams.getMessage(stream, {last_by_subj: sessionSubject(prefix, clientId)})
    return m.data.length === 0 ? {} : (JSON.parse(Buffer.from(m.data).toString()) as {node?: string})
  } catch (error) {
    if (/no message found/i.test((error as Error)?.message ?? '')) return undefined
    throw error
  }
}

/** A = a node process with its store in a temp dir (killed with SIGKILL by the tests), B and C in process. */
async function threeNodes(prefix: string) {
  const dir = env.dir(`${prefix}-a-`)
  const a = await spawnNode({nats: env.nats.url, prefix, dir, name: 'node-a'}, env.children)
  const b = await startNode([env.nats.url], {name: 'node-b', prefix})
  const c = await startNode([env.nats.url], {name: 'node-c', prefix})
  return {dir, a, b, c}
}

describe('a session whose node is down', () => {
  it('is found on another node with the messages JetStream held for it; the node, back, forwards what it had stored, lets it go and redelivers nothing', async () => {
    const prefix = `f${process.pid}`
    const topic = uniqueTopic('failover')
    const clientId = `fo-${prefix}`
    const {dir, a, b, c} = await threeNodes(prefix)
    const jsm = await env.nc.jetstreamManager()
    const record = () => recordOf(prefix, clientId)

    // The session lives on A (subscribed at QoS 1 and 2), then goes offline; A is killed.
    const sub = await connect(a.url, session(clientId))
    await sub.subscribeAsync(`${topic}/one/#`, {qos: 1})
    await sub.subscribeAsync(`${topic}/two/#`, {qos: 2})
    await sub.endAsync()
    await waitFor(async () => (await record())?.node === 'node-a', 10_000, 'A records the session in JetStream')
    await waitFor(() => c.broker.node.durableTargets(`${topic}/one/x`).includes('node-a'), 10_000, 'C knows A\'s durable interest')
    // One message reaches A before it dies: A stores it for the session and acknowledges its copy.
    const pub = await connect(c.url, {protocolVersion: 5})
    await pub.publishAsync(`${topic}/one/x`, 'pre', {qos: 1})
    await waitFor(async () => {
      const info = await jsm.consumers.info(durableStreamName(prefix), 'node_node-a')
      return info.delivered.stream_seq >= 1 && info.num_pending === 0 && info.num_ack_pending === 0
    }, 10_000, 'A stored and acknowledged its copy')
    a.child.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')

    // Published on C while A is down: acknowledged once JetStream holds the copies for A.
    for (let i = 0; i < 4; i++) await pub.publishAsync(`${topic}/one/x`, `q1-${i}`, {qos: 1})
    for (let i = 0; i < 3; i++) await pub.publishAsync(`${topic}/two/y`, `q2-${i}`, {qos: 2})
    await pub.publishAsync(`${topic}/other`, 'not subscribed', {qos: 1})
    // A copy for A forwarded for another session (Mqtt-For): not this session's, though its topic matches.
    const other = natsHeaders()
    other.set('Mqtt-Qos', '1')
    other.set(ID_HEADER, 'other-1')
    other.set(FOR_HEADER, Buffer.from('someone-else').toString('base64url'))
    await env.nc.jetstream().publish(new SubjectMap({prefix}, 'd.node-a').topic(`${topic}/one/x`)!, Buffer.from('not for you'), {headers: other, msgID: 'other-1'})

    // The client reconnects to B: its session is there, with those messages, in order.
    const back = await connect(b.url, session(clientId))
    const inbox = collect(back)
    await waitFor(() => inbox.messages.length >= 7, 10_000, `7 queued messages on B (got ${inbox.messages.length})`)
    expect(texts(inbox.messages)).toEqual(['q1-0', 'q1-1', 'q1-2', 'q1-3', 'q2-0', 'q2-1', 'q2-2'])
    expect(inbox.messages.map((m) => m.packet.qos)).toEqual([1, 1, 1, 1, 2, 2, 2])
    expect((await record())?.node).toBe('node-b')
    expect(b.broker.node.failover?.takenOver).toBe(1)
    // Its subscriptions came with it: live messages from C reach it on B.
    await waitFor(() => c.broker.node.durableTargets(`${topic}/two/y`).includes('node-b'), 10_000, 'C learns B\'s durable interest')
    await pub.publishAsync(`${topic}/two/y`, 'live', {qos: 2})
    await waitFor(() => texts(inbox.messages).includes('live'), 10_000, 'a live message on B')

    // A copy for A alone, written after B read A's copies: as from a publisher that did not know of
    // B's subscriptions yet (the moment after the take-over). A forwards it to B when it is back.
    const h = natsHeaders()
    h.set('Mqtt-Qos', '1')
    h.set(ID_HEADER, 'window-1')
    h.set(JS_HEADER, 'node-a')
    await env.nc.jetstream().publish(new SubjectMap({prefix}, 'd.node-a').topic(`${topic}/one/x`)!, Buffer.from('window'), {headers: h, msgID: 'window-1'})

    // A comes back from its store: it finds the session moved, forwards what it had stored for it
    // ('pre', late), and lets it go (its filters go too).
    const a2 = await spawnNode({nats: env.nats.url, prefix, dir, name: 'node-a'}, env.children)
    await waitFor(() => !c.broker.node.durableTargets(`${topic}/one/x`).includes('node-a'), 10_000, 'A withdraws the moved session\'s filters')
    expect(a2.log()).not.toMatch(/internal error/)
    expect((await record())?.node).toBe('node-b')
    await waitFor(() => texts(inbox.messages).includes('window'), 10_000, 'the copy A forwards')
    await pub.publishAsync(`${topic}/one/x`, 'last', {qos: 1})
    await waitFor(() => texts(inbox.messages).includes('last'), 10_000, 'the last message')
    // Nothing twice: A delivered nothing of the session (it is not on A), B nothing again.
    // ('live' went to A too, but B had its own copy: A does not forward it.)
    expect(texts(inbox.messages)).toEqual(['q1-0', 'q1-1', 'q1-2', 'q1-3', 'q2-0', 'q2-1', 'q2-2', 'live', 'pre', 'window', 'last'])
    // The client moving to A now (live move from B) brings B's session, not A's old one.
    await back.endAsync()
    const onA = await connect(a2.url, session(clientId))
    const inboxA = collect(onA)
    await pub.publishAsync(`${topic}/one/x`, 'on A', {qos: 1})
    await waitFor(() => texts(inboxA.messages).includes('on A'), 10_000, 'a message on A')
    expect(texts(inboxA.messages)).toEqual(['on A'])
  }, 120_000)

  it('ended elsewhere while its node was down (a clean start on B): the node, back, lets it go too', async () => {
    const prefix = `e${process.pid}`
    const topic = uniqueTopic('ended')
    const clientId = `end-${prefix}`
    const {dir, a, b, c} = await threeNodes(prefix)
    const sub = await connect(a.url, session(clientId))
    await sub.subscribeAsync(`${topic}/#`, {qos: 1})
    await sub.endAsync()
    await waitFor(() => c.broker.node.durableTargets(`${topic}/x`).includes('node-a'), 10_000, 'C knows A\'s durable interest')
    // A's record is written apart from its interest (end of the turn, not awaited): a node killed
    // before it landed has no record, and nothing to take over (the other test waits the same way).
    await waitFor(async () => (await recordOf(prefix, clientId))?.node === 'node-a', 10_000, 'A records the session in JetStream')
    a.child.kill('SIGKILL')
    await a.exited
    // The client starts clean on B: the session B took over ends there, its record with it.
    const clean = await connect(b.url, {protocolVersion: 5, clientId, clean: true})
    await clean.endAsync()
    await waitFor(async () => JSON.stringify(await recordOf(prefix, clientId)) === '{}', 10_000, 'B ends the record')
    expect(b.broker.node.failover?.takenOver).toBe(1)
    await spawnNode({nats: env.nats.url, prefix, dir, name: 'node-a'}, env.children)
    await waitFor(() => !c.broker.node.durableTargets(`${topic}/x`).includes('node-a'), 10_000, 'A lets the ended session go (its filters withdrawn)')
  }, 120_000)
})
