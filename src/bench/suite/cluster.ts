/**
 * The suite's scale-out scenarios (issue 15), our broker only (Mosquitto has no cluster). Everything
 * runs on 127.0.0.1; the nats-server each scenario needs is started and stopped here, like the
 * brokers, by pid.
 *
 *   cluster   two nodes (`--cluster`) over one nats-server. QoS 0 pairs with publishers and
 *             subscribers on node A (same-node), then publishers on A and subscribers on B
 *             (cross-node). Delivered msg/s and the CPU of A, B and nats-server per message.
 *   workers   `--workers 1`, then `--workers N` (N from the suite's --broker-workers), the pairs
 *             through the one port: the primary hands connections to the workers in turn. Run on
 *             every core (the suite pins itself to one, and children inherit it).
 *
 * "Per broker core": a cross-node message costs CPU on both nodes (A reads and exports it, B
 * imports and delivers it), so in a cluster whose traffic crosses nodes one broker core carries
 * 1 / (A + B) such messages a second, against 1 / A alone when publisher and subscriber share a node.
 * perCoreRatio = same-node CPU per message on A ÷ (A + B cross-node); issue 15's target: at least 0.5.
 * nats-server's CPU is reported apart (it is not a broker core).
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {silentLogger} from '../../broker/log.js'
import {findNatsServer, NATS_SERVER_ENV, startLocalNats, type LocalNats} from '../../broker/process/workers.js'
import {freePort, startOurs, which, type RunningBroker} from '../brokers.js'
import {BenchClient, type ClientSink} from '../client.js'
import {runBench, type BenchResult} from '../index.js'
import {normalize} from '../options.js'
import {cpuMillis} from '../proc.js'
import type {Metrics, SuiteScale} from './scenarios.js'

export interface ClusterRun {
  scale: SuiteScale
  /** Worker count measured against --workers 1 (the suite's --broker-workers). */
  workers: number
  /** taskset core list for the broker processes and nats-server of the `cluster` scenario. */
  cpu?: string
  /** Where nats-server is looked up (MQTTCTL_NATS_SERVER, PATH). */
  env?: Record<string, string | undefined>
  /** Every process started is in here while it runs: the suite stops them on Ctrl-C. */
  live?: Set<{stop(): Promise<void>}>
}

export interface ClusterScenario {
  id: string
  title: string
  run(o: ClusterRun): Promise<Metrics>
}

/** Why the scale-out scenarios cannot run here (one line), or undefined when they can. */
export function clusterSkipReason(env: Record<string, string | undefined> = process.env): string | undefined {
  if (findNatsServer(env) !== undefined) return undefined
  const where = env[NATS_SERVER_ENV] ? `${NATS_SERVER_ENV}=${env[NATS_SERVER_ENV]} is not an executable` : 'nats-server is not installed (searched PATH and /usr/sbin)'
  return `Scale-out scenarios (cluster, workers) skipped: ${where}; apt-get install nats-server.`
}

const round2 = (n: number): number => Math.round(n * 100) / 100
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** CPU milliseconds of each group of processes (a process that is gone counts 0). */
function cpuOf(groups: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((n, pid) => n + (cpuMillis(pid) ?? 0), 0)]))
}

/**
 * QoS 0 pairs `tag/i`: publishers on pubPort, subscribers on subPort, in one closed loop (nothing
 * is dropped for want of room). The CPU of each group is read when the load starts and when it ends.
 * Returns the delivered rate, each group's CPU share (1 = one core) and CPU microseconds per message.
 */
export async function measurePairs(
  pubPort: number,
  subPort: number,
  tag: string,
  scale: SuiteScale,
  groups: () => Record<string, number[]>,
): Promise<{result: BenchResult; rate: number; share: Record<string, number>; usPerMsg: Record<string, number | null>}> {
  let c0: Record<string, number> = {}
  let t0 = 0
  const cross = pubPort !== subPort
  const o = normalize('pubsub', {port: pubPort, subPort: cross ? subPort : undefined, clients: scale.clusterPairs, topic: `${tag}/%i`, clientId: `suite-${tag}-%i`, batch: 1, warmup: 1, window: 10_000, duration: scale.seconds + 1})
  const result = await runBench(o, {
    ready: async () => {
      // Every subscriber's filter must be known to A and subscribed at nats-server before A floods.
      if (cross) await linked(pubPort, subPort, tag)
      c0 = cpuOf(groups())
      t0 = performance.now()
    },
  })
  const wallMs = performance.now() - t0
  const c1 = cpuOf(groups())
  const rate = result.rates.receivedPerSecond
  const share = Object.fromEntries(Object.keys(c1).map((k) => [k, (c1[k] - (c0[k] ?? 0)) / wallMs]))
  const usPerMsg = Object.fromEntries(Object.entries(share).map(([k, s]) => [k, rate > 0 ? round2((s * 1e6) / rate) : null]))
  return {result, rate, share, usPerMsg}
}

/**
 * Resolves once a message published on pubPort reaches a subscriber on subPort. Announcements and
 * NATS subscriptions of one node travel in order, so the probe's filter arriving means every filter
 * subscribed before it has too. Throws after 20 s.
 */
export async function linked(pubPort: number, subPort: number, tag: string): Promise<void> {
  let got = false
  const sink: ClientSink = {delivered: () => (got = true), ready: () => {}, failed: () => {}}
  const o = normalize('pub', {port: subPort, batch: 1, duration: 1})
  const topic = `suite-linked/${tag}/${process.pid}`
  const sub = new BenchClient(0, o, sink, `suite-linked-${process.pid}-s`)
  const pub = new BenchClient(0, {...o, port: pubPort}, sink, `suite-linked-${process.pid}-p`)
  try {
    await sub.connect()
    await sub.subscribe(topic, 0)
    await pub.connect()
    pub.usePublish(topic, 0)
    const deadline = Date.now() + 20_000
    while (!got) {
      if (Date.now() > deadline) throw new Error(`a message published on port ${pubPort} did not reach port ${subPort} within 20 s: the nodes are not linked through NATS`)
      pub.publish(1)
      await sleep(50)
    }
  } finally {
    sub.close()
    pub.close()
  }
}

function bench(r: Awaited<ReturnType<typeof measurePairs>>): Metrics {
  return {lost: r.result.messages.lost + r.result.connect.failed, generatorCpuPct: r.result.generator.cpuPercent}
}

async function clusterPairs(o: ClusterRun): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bench-nats-'))
  let nats: LocalNats | undefined
  const nodes: RunningBroker[] = []
  try {
    nats = await startLocalNats(dir, silentLogger, o.env)
    o.live?.add(nats)
    // It inherited the suite's own pinning (the generator's core): it belongs with the brokers.
    if (o.cpu !== undefined && which('taskset')) spawnSync('taskset', ['-a', '-p', '-c', o.cpu, String(nats.pid)], {stdio: 'ignore'})
    for (const name of ['a', 'b']) {
      nodes.push(await startOurs({port: await freePort(), cpu: o.cpu, args: ['--cluster', nats.url, '--node-name', `bench-${name}`]}))
      o.live?.add(nodes.at(-1)!)
    }
    const [a, b] = nodes
    const groups = () => ({a: [a.pid], b: [b.pid], nats: [nats!.pid]})
    await linked(a.port, b.port, 'start')
    const same = await measurePairs(a.port, a.port, 'same', o.scale, groups)
    const cross = await measurePairs(a.port, b.port, 'cross', o.scale, groups)
    const sameA = same.usPerMsg.a
    const both = (cross.usPerMsg.a ?? 0) + (cross.usPerMsg.b ?? 0)
    const s = bench(same)
    const c = bench(cross)
    return {
      sameNodeMsgsPerSec: Math.round(same.rate),
      crossNodeMsgsPerSec: Math.round(cross.rate),
      sameNodeUsPerMsgA: sameA,
      sameNodeUsPerMsgNats: same.usPerMsg.nats,
      crossNodeUsPerMsgA: cross.usPerMsg.a,
      crossNodeUsPerMsgB: cross.usPerMsg.b,
      crossNodeUsPerMsgNats: cross.usPerMsg.nats,
      crossNodeCpuPctA: round2(cross.share.a * 100),
      crossNodeCpuPctB: round2(cross.share.b * 100),
      crossNodeCpuPctNats: round2(cross.share.nats * 100),
      perCoreRatio: sameA !== null && both > 0 ? round2(sameA / both) : null,
      rateRatio: same.rate > 0 ? round2(cross.rate / same.rate) : null,
      lost: (s.lost ?? 0) + (c.lost ?? 0),
      generatorCpuPct: Math.max(s.generatorCpuPct ?? 0, c.generatorCpuPct ?? 0),
    }
  } finally {
    await Promise.all(nodes.map((n) => (o.live?.delete(n), n.stop())))
    if (nats !== undefined) o.live?.delete(nats)
    await nats?.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}

/** Every descendant of `pid` (from /proc/<p>/stat's parent pid), with its command name. */
export function descendants(pid: number): Array<{pid: number; comm: string}> {
  const parent = new Map<number, number>()
  const comm = new Map<number, string>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      comm.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {} // gone meanwhile
  }
  const out: Array<{pid: number; comm: string}> = []
  const walk = (p: number): void => {
    for (const [child, pp] of parent) if (pp === p) (out.push({pid: child, comm: comm.get(child) ?? '?'}), walk(child))
  }
  walk(pid)
  return out
}

/** `--workers n` (primary, its workers, its nats-server), ready once broker.json is written. */
async function workersRun(n: number, scale: SuiteScale, live?: ClusterRun['live']): Promise<{rate: number; usPerMsg: Record<string, number | null>; share: Record<string, number>; m: Metrics}> {
  // Every core (the suite pins itself, and children inherit that): the workers need the cores.
  const broker = await startOurs({port: await freePort(), cpu: `0-${cpus().length - 1}`, args: ['--workers', String(n)]})
  live?.add(broker)
  try {
    const deadline = Date.now() + 60_000
    for (;;) {
      try {
        JSON.parse(readFileSync(join(broker.dataDir!, 'broker.json'), 'utf8'))
        break
      } catch {}
      if (Date.now() > deadline) throw new Error(`--workers ${n}: broker.json not written within 60 s`)
      await sleep(100)
    }
    const groups = () => {
      const d = descendants(broker.pid)
      return {primary: [broker.pid], workers: d.filter((p) => p.comm !== 'nats-server' && p.comm !== 'sh').map((p) => p.pid), nats: d.filter((p) => p.comm === 'nats-server').map((p) => p.pid)}
    }
    const r = await measurePairs(broker.port, broker.port, `w${n}`, scale, groups)
    return {rate: r.rate, usPerMsg: r.usPerMsg, share: r.share, m: bench(r)}
  } finally {
    live?.delete(broker)
    await broker.stop()
  }
}

async function workers(o: ClusterRun): Promise<Metrics> {
  const one = await workersRun(1, o.scale, o.live)
  const many = await workersRun(o.workers, o.scale, o.live)
  const all = (r: typeof one) => round2(Object.values(r.usPerMsg).reduce<number>((n, v) => n + (v ?? 0), 0))
  return {
    workers: o.workers,
    oneWorkerMsgsPerSec: Math.round(one.rate),
    nWorkersMsgsPerSec: Math.round(many.rate),
    speedup: one.rate > 0 ? round2(many.rate / one.rate) : null,
    oneWorkerUsPerMsg: all(one),
    nWorkersUsPerMsg: all(many),
    nWorkersUsPerMsgWorkers: many.usPerMsg.workers,
    nWorkersUsPerMsgNats: many.usPerMsg.nats,
    nWorkersCpuPct: round2(Object.values(many.share).reduce((n, v) => n + v, 0) * 100),
    lost: (one.m.lost ?? 0) + (many.m.lost ?? 0),
    generatorCpuPct: Math.max(one.m.generatorCpuPct ?? 0, many.m.generatorCpuPct ?? 0),
  }
}

export const CLUSTER_SCENARIOS: ClusterScenario[] = [
  {id: 'cluster', title: 'scale-out: QoS 0 pairs, same-node vs cross-node (publishers on A, subscribers on B) over nats-server, 64 B', run: clusterPairs},
  {id: 'workers', title: 'scale-out: QoS 0 pairs through one port, --workers 1 vs --workers N (N = --broker-workers)', run: workers},
]
