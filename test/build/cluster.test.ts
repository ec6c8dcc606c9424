import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCommand} from '@oclif/test'
import {execa} from 'execa'
import {connect} from 'nats'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import type {BuildResult} from '../../commands/build.js'
import {natsServerConf, type NatsServer} from '../../src/build/cluster-nats.js'
import {nodeConfig, resolveClusterBuild} from '../../src/build/cluster.js'
import {resolvePlan} from '../../src/build/options.js'
import {DEFAULT_CONFIG, loadConfig} from '../../src/config/index.js'
import {freePort} from '../../src/net.js'
import {requireNatsServer} from '../helpers/nats.js'
import {startNode} from '../helpers/cluster.js'
import {closeAll, connect as mqttConnect} from '../helpers/mqtt.js'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-build-cluster-'))
const children: ChildProcess[] = []

afterEach(() => {
  process.exitCode = undefined
})
afterAll(async () => {
  await closeAll()
  await Promise.all(children.map((c) => stop(c)))
  rmSync(dir, {recursive: true, force: true})
})

function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    c.once('exit', () => resolve())
    process.kill(c.pid!, 'SIGTERM')
  })
}

/** nats-server -c FILE, resolved once it says "Server is ready". */
async function natsServer(bin: string, file: string): Promise<ChildProcess> {
  const child = spawn(bin, ['-c', file], {stdio: ['ignore', 'ignore', 'pipe']})
  children.push(child)
  let log = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      if (log.length < 100_000) log += b.toString()
      if (log.includes('Server is ready')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`nats-server -c ${file} exited with ${code}: ${log.slice(-2000)}`)))
  })
  child.stderr!.resume()
  return child
}

const planFor = (extra: Record<string, string>) => resolvePlan({devices: '3M', out: join(dir, `never-${Math.random()}`), target: 'linux-x64', ...extra})

describe('build --nodes: flags checked in one line', () => {
  it.each([
    [{nodes: '2'}, /--nodes 2 is not allowed for 3,000,000 devices: each node is planned for at most 800,000 .*allowed: 4 to 1,000/],
    [{nodes: '0'}, /--nodes "0" is not allowed; allowed: a whole number from 1 to 1,000/],
    [{nodes: '4', workers: '0'}, /--workers "0" is not allowed; allowed: a whole number from 1 to 1,024/],
    [{nodes: '4', nats: 'http://x:1'}, /--nats "http:\/\/x:1" is not allowed: scheme http/],
    [{nodes: '4', nats: 'tls://a:4222'}, /build writes nats-server.conf without TLS/],
    [{nodes: '4', nats: 'nats://a:4222,a:4222'}, /--nats names a:4222 twice/],
    [{nodes: '4', natsStore: 'var/lib'}, /--nats-store "var\/lib" is not allowed; allowed: an absolute path/],
  ])('%o', (flags, message) => {
    expect(() => planFor(flags)).toThrow(message)
  })

  it('--workers without a scale-out is refused, not ignored', () => {
    expect(() => resolvePlan({devices: '5000', workers: '4', out: join(dir, 'never'), target: 'linux-x64'})).toThrow(/--workers is only allowed with --nodes 2 or more or with --nats/)
  })

  it('--nodes above the plan spreads the fleet: each node\'s tier is for its own share', () => {
    const p = resolvePlan({devices: '300k', nodes: '3', out: join(dir, 'never'), target: 'linux-x64'})
    expect(p.devices).toBe(100_000)
    expect(p.nodes).toBe(3)
    expect(p.cluster).toMatchObject({nodes: 3, replicas: 3, nodeNames: ['node-1', 'node-2', 'node-3'], urls: ['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']})
  })

  it('max_payload: NATS\'s 1 MB for the default packet size, fitted to a lowered one', () => {
    const c = (maxPacketSize: number) => resolveClusterBuild({}, 2, {...DEFAULT_CONFIG, limits: {...DEFAULT_CONFIG.limits, maxPacketSize}})!.maxPayloadBytes
    expect(c(DEFAULT_CONFIG.limits.maxPacketSize)).toBe(2 ** 20)
    expect(c(10_000)).toBe(2 ** 20)
    expect(c(5 * 2 ** 20)).toBe(6 * 2 ** 20)
  })
})

describe('the NATS servers\' configuration runs a real nats-server cluster', () => {
  it('three servers from the rendered files form a cluster with JetStream and the planned max_payload', async () => {
    const bin = await requireNatsServer()
    const servers: NatsServer[] = []
    for (let i = 1; i <= 3; i++) servers.push({name: `nats-${i}`, host: '127.0.0.1', port: await freePort(), clusterPort: await freePort()})
    const files = servers.map((s) => {
      const file = join(dir, `${s.name}.conf`)
      const conf = natsServerConf({servers, listenHost: '127.0.0.1', storeDir: join(dir, `store-${s.name}`), maxPayloadBytes: 2 * 2 ** 20, maxFileStoreBytes: 2 * 2 ** 30, clusterName: 'mqtt'}, s)
      writeFileSync(file, conf)
      return file
    })
    await Promise.all(files.map((f) => natsServer(bin, f)))
    const a = await connect({servers: `127.0.0.1:${servers[0].port}`})
    const c = await connect({servers: `127.0.0.1:${servers[2].port}`})
    try {
      expect(a.info!.max_payload).toBe(2 * 2 ** 20)
      expect(a.info!.jetstream).toBe(true)
      // Routed: a message published on the third server reaches a subscriber on the first.
      const got = new Promise<string>((resolve) => a.subscribe('probe.>', {max: 1, callback: (_e, m) => resolve(new TextDecoder().decode(m.data))}))
      await a.flush()
      // The routes carry the subscription's interest asynchronously: publish until it arrives (bounded).
      let received: string | null = null
      for (let i = 0; i < 200 && received === null; i++) {
        c.publish('probe.x', new TextEncoder().encode('hello'))
        await c.flush()
        received = await Promise.race([got, new Promise<null>((r) => setTimeout(() => r(null), 50))])
      }
      expect(received).toBe('hello')
      // JetStream clustered: a stream with 3 replicas is accepted once the servers elected a leader.
      let made = false
      for (let i = 0; i < 100 && !made; i++) {
        try {
          const jsm = await a.jetstreamManager({timeout: 1000})
          await jsm.streams.add({name: 'PROBE', subjects: ['js.>'], num_replicas: 3})
          made = true
        } catch {
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      expect(made).toBe(true)
      // Broker nodes with build's per-node configuration join these servers and carry a message across.
      const built = resolveClusterBuild({nats: servers.map((s) => `nats://127.0.0.1:${s.port}`).join(',')}, 2, DEFAULT_CONFIG)!
      const [ca, cb] = built.nodeNames.map((name) => nodeConfig(DEFAULT_CONFIG, built, name).cluster)
      expect(ca).toMatchObject({nodeName: 'node-1', replicas: 3})
      const na = await startNode(ca.servers, {name: ca.nodeName, replicas: ca.replicas})
      const nb = await startNode(cb.servers, {name: cb.nodeName, replicas: cb.replicas})
      const sub = await mqttConnect(nb.url)
      await sub.subscribeAsync('build/probe', {qos: 0})
      const arrived = new Promise<string>((resolve) => sub.once('message', (_t, payload) => resolve(payload.toString())))
      const pub = await mqttConnect(na.url)
      let across: string | null = null
      for (let i = 0; i < 200 && across === null; i++) {
        await pub.publishAsync('build/probe', 'across', {qos: 0})
        across = await Promise.race([arrived, new Promise<null>((r) => setTimeout(() => r(null), 50))])
      }
      expect(across).toBe('across')
    } finally {
      await a.close()
      await c.close()
    }
  }, 60_000)
})

describe('mqttctl build --devices 3M --nodes 4 --workers 2', () => {
  it('writes each node\'s configuration, launcher and unit, and a nats-server.conf that nats-server accepts', async () => {
    const out = join(dir, 'layout')
    const {stdout, error} = await runCommand<BuildResult>(['build', '--devices', '3M', '--nodes', '4', '--workers', '2', '--target', 'linux-x64', '--out', out, '--json'], {root}, {testNodeEnv: 'production'})
    expect(error).toBeUndefined()
    const r = JSON.parse(stdout) as BuildResult
    expect(r.cluster).toEqual({nodes: 4, workers: 2, nodeNames: ['node-1', 'node-2', 'node-3', 'node-4'], nats: ['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222'], replicas: 3})
    for (const name of r.cluster!.nodeNames) {
      const {config} = loadConfig({file: join(out, 'nodes', name, 'broker.json')})
      expect(config.cluster).toMatchObject({servers: r.cluster!.nats, nodeName: name, replicas: 3, workers: 2})
      expect(config.maxConnections).toBe(1_000_000)
      expect(statSync(join(out, 'nodes', name, 'mqtt-broker')).mode & 0o111).not.toBe(0)
      expect(readFileSync(join(out, 'nodes', name, 'mqtt-broker.service'), 'utf8')).toContain(`ExecStart=/opt/mqtt-broker/bin/mqtt-broker --config /opt/mqtt-broker/nodes/${name}/broker.json`)
    }
    const bin = await requireNatsServer()
    for (let i = 1; i <= 3; i++) {
      const file = join(out, 'nats', `nats-${i}.conf`)
      const text = readFileSync(file, 'utf8')
      expect(text).toContain(`server_name: nats-${i}`)
      expect(text).toMatch(/max_payload: 1MB/)
      expect(text).toMatch(/max_file_store: 2GB/)
      const t = await execa(bin, ['-t', '-c', file], {reject: false})
      expect(t.exitCode, t.stderr).toBe(0)
    }
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('## Scale-out: 4 nodes over 3 NATS servers')
  }, 120_000)
})
