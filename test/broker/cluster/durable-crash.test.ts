/**
 * kill -9 of the node receiving JetStream copies (src/broker/cluster/durable.ts, applied.ts), at a
 * chosen moment (fault injection in a child process: ./fixtures/crash-node.ts), then a restart from
 * its data directory: the copy JetStream sends again is recognised when the node had it durable
 * (QoS 2: exactly once through the crash) and delivered when it had not (QoS 1: at least once).
 * Real nats-server with JetStream, real node processes with the durable store, real MQTT clients.
 */
import {describe, expect, it} from 'vitest'
import {durableStreamName} from '../../../src/broker/cluster/durable.js'
import {startNode} from '../../helpers/cluster.js'
import {collect, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {jetStreamEnv} from './fixtures/jetstream-env.js'
import {spawnNode as spawnProc} from './fixtures/spawn-node.js'

const env = jetStreamEnv()

const spawnNode = (args: {prefix: string; dir: string; fault?: 'applied' | 'stored'}) => spawnProc({nats: env.nats.url, name: 'node-b', ...args}, env.children)
const session = (id: string) => ({protocolVersion: 5 as const, clientId: id, clean: false, properties: {sessionExpiryInterval: 600}})

describe('kill -9 of the receiving node between its store write and its JetStream ack', () => {
  it.each([
    {qos: 2, fault: 'stored', why: 'durable, not acknowledged: the copy sent again is recognised, not delivered twice'},
    {qos: 1, fault: 'applied', why: 'written, not yet durable: the copy sent again is delivered (at least once)'},
  ] as const)('QoS $qos, killed when $why', async ({qos, fault}) => {
    const prefix = `c${process.pid}${qos}`
    const dir = env.dir('crash-node-')
    const topic = uniqueTopic('crash')
    const clientId = `crash-${prefix}`
    const a = await startNode([env.nats.url], {name: 'node-a', prefix})
    const b1 = await spawnNode({prefix, dir, fault})
    const sub = await connect(b1.url, session(clientId))
    await sub.subscribeAsync(`${topic}/#`, {qos})
    await sub.endAsync() // the session waits on B, offline: the copy goes to its queue
    await waitFor(() => a.broker.node.durableTargets(`${topic}/m`).includes('node-b'), 10_000, 'A learns B\'s durable interest')

    const pub = await connect(a.url, {protocolVersion: 5})
    await pub.publishAsync(`${topic}/m`, 'once', {qos})
    expect(await b1.exited).toBe('SIGKILL') // the fault fired: B died at the chosen moment

    // B again from the same data directory; JetStream sends the unacknowledged copy again (ack wait 1 s).
    const b2 = await spawnNode({prefix, dir})
    const jsm = await env.nc.jetstreamManager()
    await waitFor(async () => {
      const c = await jsm.consumers.info(durableStreamName(prefix), 'node_node-b')
      return c.num_pending === 0 && c.num_ack_pending === 0 && c.num_redelivered === 0 && c.delivered.stream_seq >= 1
    }, 20_000, 'the copy sent again and acknowledged by the new B')

    const back = await connect(b2.url, session(clientId))
    const inbox = collect(back)
    await pub.publishAsync(`${topic}/m`, 'after', {qos})
    await waitFor(() => inbox.messages.some((m) => m.payload.toString() === 'after'), 10_000, 'the message after the restart')
    expect(inbox.messages.map((m) => m.payload.toString())).toEqual(['once', 'after'])
  }, 90_000)
})
