/**
 * kill -9 of a broker node under QoS 1 load: the publisher, connected to the node that dies,
 * reconnects to another node and goes on; every message it got a PUBACK for reaches the subscriber
 * on a third node (at least once). Broker nodes are real runtime processes (src/broker/main.ts
 * --cluster), NATS one nats-server; all on 127.0.0.1, bounded.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {ownRuntime} from '../../../src/control/runtime.js'
import {type NatsServer, startNats} from '../../helpers/nats.js'
import {closeAll, collect, connect, sleep, waitFor} from '../../helpers/mqtt.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

interface NodeProc {
  child: ChildProcess
  port: number
  dir: string
  log: () => string
}

const started: NodeProc[] = []
let nats: NatsServer | undefined

afterEach(async () => {
  await closeAll()
  for (const n of started.splice(0)) {
    if (n.child.exitCode === null && n.child.signalCode === null) {
      n.child.kill('SIGKILL')
      await new Promise((r) => n.child.once('exit', r))
    }
    rmSync(n.dir, {recursive: true, force: true})
  }
  await nats?.stop()
  nats = undefined
})

async function startRuntime(natsUrl: string, name: string): Promise<NodeProc> {
  const dir = mkdtempSync(join(tmpdir(), `node-${name}-`))
  const rt = ownRuntime()
  const child = spawn(rt.command, [...rt.args, '--cluster', natsUrl, '--node-name', name, '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--stats-interval', '3600'], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const node: NodeProc = {child, port: 0, dir, log: () => out}
  started.push(node)
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      node.port = (JSON.parse(readFileSync(join(dir, 'broker.json'), 'utf8')) as {listeners: Array<{port: number}>}).listeners[0].port
      if (/joined through NATS/.test(out)) break
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`node ${name} did not start: ${out}`)
    await sleep(50)
  }
  return node
}

describe('kill -9 of a broker node', () => {
  it.each([4, 5] as const)('MQTT %i: under QoS 1 load, with the publisher moving to another node: zero PUBACKed messages lost', async (version) => {
    nats = await startNats()
    const [a, b, c] = [await startRuntime(nats.url, 'a'), await startRuntime(nats.url, 'b'), await startRuntime(nats.url, 'c')]
    const topic = `kill/${version}/${process.pid}`
    const sub = await connect(`mqtt://127.0.0.1:${b.port}`, {protocolVersion: version, clientId: `kill-sub-${version}`})
    await sub.subscribeAsync(topic, {qos: 1})
    const inbox = collect(sub)
    // The publisher on A: probe until B's subscriber hears A (interest crossed NATS).
    const acked = new Set<string>()
    const pubA = mqtt.connect(`mqtt://127.0.0.1:${a.port}`, {protocolVersion: version, clientId: `kill-pub-${version}`, reconnectPeriod: 0, connectTimeout: 5000})
    pubA.on('error', () => {})
    await new Promise<void>((resolve, reject) => (pubA.once('connect', () => resolve()), pubA.once('error', reject)))
    const deadline = Date.now() + 10_000
    while (!inbox.messages.some((m) => m.payload.toString() === 'probe')) {
      if (Date.now() > deadline) throw new Error('no route from A to B')
      await pubA.publishAsync(topic, 'probe', {qos: 0})
      await sleep(20)
    }
    // Load: up to 100 QoS 1 messages in flight; A is killed once 500 were acknowledged.
    let next = 0
    let killed = false
    let inFlight = 0
    const sendMore = (client: mqtt.MqttClient, upTo: number): void => {
      while (next < upTo && inFlight < 100) {
        const payload = `m${next++}`
        inFlight++
        client.publish(topic, payload, {qos: 1}, (err) => {
          inFlight--
          if (err === undefined || err === null) acked.add(payload)
          if (!killed || client !== pubA) sendMore(client, upTo)
        })
      }
    }
    sendMore(pubA, 5_000)
    await waitFor(() => acked.size >= 500, 20_000, '500 PUBACKs from A')
    killed = true
    a.child.kill('SIGKILL')
    await new Promise((r) => a.child.once('exit', r))
    const ackedOnA = acked.size
    pubA.end(true)
    // The publisher moves to C and sends the rest (what A never acknowledged included: QoS 1 is at least once).
    const unacked = Array.from({length: next}, (_, i) => `m${i}`).filter((p) => !acked.has(p))
    const pubC = await connect(`mqtt://127.0.0.1:${c.port}`, {protocolVersion: version, clientId: `kill-pub-${version}`})
    for (const p of unacked) await pubC.publishAsync(topic, p, {qos: 1}).then(() => acked.add(p))
    for (let i = next; i < next + 500; i++) await pubC.publishAsync(topic, `m${i}`, {qos: 1}).then(() => acked.add(`m${i}`))
    const received = () => new Set(inbox.messages.map((m) => m.payload.toString()))
    await waitFor(() => [...acked].every((p) => received().has(p)), 20_000, `every acknowledged message on B (${[...acked].filter((p) => !received().has(p)).length} missing)`)
    const lost = [...acked].filter((p) => !received().has(p))
    expect({ackedOnA: ackedOnA >= 500, lost}).toEqual({ackedOnA: true, lost: []})
  }, 90_000)
})
