/**
 * Cluster probe (issue 15's performance questions), everything on 127.0.0.1:
 *
 *   node --import tsx bench/probe/cluster.ts [--seconds 5] [--pairs 50] [--scenario all]
 *
 * Scenarios (64-byte QoS 0 payloads, MQTT 3.1.1, `pairs` publisher/subscriber pairs, each publisher
 * flooding its own topic with socket backpressure):
 *   single     one plain broker process (no NATS): the reference;
 *   same-node  two cluster nodes over one nats-server, publishers and subscribers on node A;
 *   cross-node the same two nodes, publishers on A, subscribers on B;
 *   workers-1 / workers-2   `mqttctl start --workers N` through its one port (clients spread by the
 *              primary), nats-server started by the primary.
 * Reports deliveries per second and the CPU (fraction of one core) of each broker process and of
 * nats-server, and CPU microseconds per delivered message on each side.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {tsxImportUrl} from '../../src/control/runtime.js'
import {findNatsServer, startLocalNats} from '../../src/broker/process/workers.js'
import {silentLogger} from '../../src/broker/log.js'
import {Client, flood, publishFrame} from './load.js'
import {cpuTicks, freePort, sleep, stopChild} from './procs.js'

const {values} = parseArgs({
  options: {
    seconds: {type: 'string', default: '5'},
    pairs: {type: 'string', default: '50'},
    scenario: {type: 'string', default: 'all'},
  },
})
const SECONDS = Number(values.seconds)
const PAIRS = Number(values.pairs)
const PAYLOAD = 64
const NODE = fileURLToPath(new URL('./cluster-node.ts', import.meta.url))
const MAIN = fileURLToPath(new URL('../../src/broker/main.ts', import.meta.url))

interface Proc {
  pid: number
  port: number
  stop(): Promise<void>
}

async function startNode(nats: string | undefined, name: string): Promise<Proc> {
  const child = spawn(process.execPath, [...(process.env.PROBE_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', tsxImportUrl(), NODE], {stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: {...process.env, PROBE_NATS: nats ?? '', PROBE_NAME: name}})
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /\{"port":(\d+)\}/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`node ${name} exited ${code}`)))
  })
  return {pid: child.pid!, port, stop: () => stopChild(child, 10_000)}
}

/** `--workers N` through the real runtime entry; resolves once broker.json names the port. */
async function startWorkers(n: number): Promise<Proc & {pids(): number[]}> {
  const dir = mkdtempSync(join(tmpdir(), 'probe-workers-'))
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', tsxImportUrl(), MAIN, '--workers', String(n), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--max-connections', '100000'], {stdio: ['ignore', 'ignore', 'inherit']})
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      JSON.parse(readFileSync(join(dir, 'broker.json'), 'utf8'))
      break
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('workers did not start')
    await sleep(100)
  }
  const pids = (): number[] => {
    // The primary, its workers and nats-server: every descendant of the primary.
    const out: number[] = [child.pid!]
    for (let i = 0; i < out.length; i++) {
      try {
        out.push(...readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
      } catch {}
    }
    return out
  }
  return {
    pid: child.pid!,
    port,
    pids,
    async stop() {
      await stopChild(child, 10_000)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

async function openMany(port: number, n: number): Promise<Client[]> {
  const out: Client[] = []
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({length: Math.min(50, n - i)}, () => Client.open(port)))))
  return out
}

/** Subscribers on subPort, publishers on pubPort; waits until every pair delivers before measuring. */
async function pairs(pubPort: number, subPort: number, tag: string): Promise<{count(): number; stop(): void}> {
  const subs = await openMany(subPort, PAIRS)
  await Promise.all(subs.map((s, i) => s.subscribe(`pairs/${tag}/${i}`, 0)))
  const pubs = await openMany(pubPort, PAIRS)
  const floods = pubs.map((p, i) => flood(p, publishFrame(`pairs/${tag}/${i}`, PAYLOAD, 0), 16))
  const deadline = Date.now() + 20_000
  while (!subs.every((s) => s.received > 0)) {
    if (Date.now() > deadline) throw new Error(`only ${subs.filter((s) => s.received > 0).length} of ${PAIRS} pairs deliver`)
    await sleep(50)
  }
  return {count: () => subs.reduce((n, s) => n + s.received, 0), stop: () => (floods.forEach((f) => f.stop()), [...subs, ...pubs].forEach((c) => c.close()))}
}

async function measure(run: {count(): number}, pids: Record<string, number[] | number>): Promise<{rate: number; cpu: Record<string, number>}> {
  await sleep(1000)
  const ticks = (): Record<string, number> => Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, (Array.isArray(p) ? p : [p]).reduce((n, pid) => n + safeTicks(pid), 0)]))
  const n0 = run.count()
  const c0 = ticks()
  const t0 = performance.now()
  await sleep(SECONDS * 1000)
  const n1 = run.count()
  const c1 = ticks()
  const elapsed = performance.now() - t0
  const cpu = Object.fromEntries(Object.keys(c0).map((k) => [k, (c1[k] - c0[k]) / (elapsed / 10)]))
  return {rate: ((n1 - n0) * 1000) / elapsed, cpu}
}

function safeTicks(pid: number): number {
  try {
    return cpuTicks(pid)
  } catch {
    return 0
  }
}

function report(name: string, r: {rate: number; cpu: Record<string, number>}): void {
  const parts = Object.entries(r.cpu).map(([k, c]) => `${k} ${(c * 100).toFixed(0)}% CPU${r.rate > 0 ? ` (${((c * 1e6) / r.rate).toFixed(2)} us/msg)` : ''}`)
  console.log(`${name.padEnd(11)} ${Math.round(r.rate).toLocaleString('en-US').padStart(10)} msg/s   ${parts.join(', ')}`)
}

const names = values.scenario === 'all' ? ['single', 'same-node', 'cross-node', 'workers-1', 'workers-2'] : values.scenario!.split(',')
if (findNatsServer() === undefined) throw new Error('nats-server is not installed (apt-get install nats-server)')
console.log(`cluster probe: ${PAIRS} QoS 0 pairs, ${PAYLOAD}-byte payloads, ${SECONDS} s windows, ${new Date().toISOString()}`)

for (const name of names) {
  if (name === 'single') {
    const b = await startNode(undefined, 'single')
    const run = await pairs(b.port, b.port, 'single')
    report(name, await measure(run, {broker: b.pid}))
    run.stop()
    await b.stop()
  } else if (name === 'same-node' || name === 'cross-node') {
    const dir = mkdtempSync(join(tmpdir(), 'probe-nats-'))
    const nats = await startLocalNats(dir, silentLogger)
    const a = await startNode(nats.url, 'a')
    const b = await startNode(nats.url, 'b')
    const run = name === 'same-node' ? await pairs(a.port, a.port, name) : await pairs(a.port, b.port, name)
    report(name, await measure(run, {'node A': a.pid, 'node B': b.pid, nats: nats.pid}))
    run.stop()
    await Promise.all([a.stop(), b.stop()])
    await nats.stop()
    rmSync(dir, {recursive: true, force: true})
  } else if (name === 'workers-1' || name === 'workers-2') {
    const w = await startWorkers(name === 'workers-1' ? 1 : 2)
    const run = await pairs(w.port, w.port, name)
    const pids = w.pids()
    const comm = (pid: number): string => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      } catch {
        return '?'
      }
    }
    // Every process of the run, and the sum.
    report(name, await measure(run, {all: pids, ...Object.fromEntries(pids.map((p, i) => [i === 0 ? 'primary' : `${comm(p)}#${i}`, p]))}))
    run.stop()
    await w.stop()
  } else throw new Error(`unknown scenario ${name}`)
}
