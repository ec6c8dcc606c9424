/**
 * `runBench`: one bench run, in this process or spread over forked workers, merged into a
 * BenchResult (the value `mqttctl bench --json` prints).
 */
import {fork, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Broadcasts} from './broadcasts.js'
import {Histogram, type Percentiles} from './histogram.js'
import {assertLoopback, deliveriesPerPublish, type BenchOptions} from './options.js'
import {CpuSampler, rssBytes} from './proc.js'
import {Runner, type PartResult, type Progress, type Slice} from './runner.js'

export {normalize, parseUrl, BenchUsageError, MODES, type BenchMode, type BenchOptions} from './options.js'

export interface BenchResult {
  mode: string
  target: string
  protocol: number
  qos: number
  size: number
  clients: number
  subscribers: number
  workers: number
  connect: {attempted: number; connected: number; failed: number; seconds: number; perSecond: number}
  messages: {sent: number; received: number; expected: number | null; lost: number; acked: number}
  rates: {sentPerSecond: number; receivedPerSecond: number; measuredSeconds: number}
  latencyMs: Percentiles | null
  broadcasts: {sent: number; complete: number; incomplete: number; completionMs: Percentiles | null} | null
  probeMs: Percentiles | null
  errors: {count: number; messages: Record<string, number>}
  generator: {cpuPercent: number; userMs: number; systemMs: number; wallSeconds: number; processes: number}
  broker: {pid: number; cpuPercent: number | null; rssBytes: number | null} | null
}

export interface BenchHooks {
  /** About every 250 ms while the run lasts (summed over workers). */
  progress?: (p: Progress) => void
  /** Awaited once every client is connected, before the load starts. */
  ready?: () => Promise<void> | void
}

/** Splits clients over workers. */
export function slices(o: BenchOptions): Slice[] {
  const w = Math.min(o.workers, o.clients)
  const cut = (n: number, k: number) => [Math.floor((n * k) / w), Math.floor((n * (k + 1)) / w)]
  const paired = o.subTopic.includes('%i') && o.subscribers === o.clients
  return Array.from({length: w}, (_, k) => {
    const [from, to] = cut(o.clients, k)
    const [subFrom, subTo] = paired ? [from, to] : cut(o.subscribers, k)
    const pubs = o.mode === 'fanout' ? (k === 0 ? 1 : 0) : to - from
    const rate = o.rate > 0 ? (o.rate * pubs) / (o.mode === 'fanout' ? 1 : o.clients) : 0
    return {from, to, subFrom, subTo, publisher: k === 0, rate}
  })
}

export async function runBench(o: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  await assertLoopback(o.host, o.allowRemote)
  const parts = slices(o)
  const sampler = o.brokerPid ? new CpuSampler(o.brokerPid) : undefined
  const ready = async () => {
    await hooks.ready?.()
    sampler?.start()
  }
  const results = parts.length === 1 ? [await runLocal(o, parts[0], ready, hooks)] : await runWorkers(o, parts, ready, hooks)
  const brokerCpu = sampler?.stop() ?? null
  return merge(o, results, o.brokerPid ? {pid: o.brokerPid, cpuPercent: brokerCpu, rssBytes: rssBytes(o.brokerPid)} : null)
}

async function runLocal(o: BenchOptions, slice: Slice, ready: () => Promise<void>, hooks: BenchHooks): Promise<PartResult> {
  const runner = new Runner(o, slice)
  const t = hooks.progress ? setInterval(() => hooks.progress!(runner.progress()), 250) : undefined
  try {
    return await runner.run({ready})
  } finally {
    clearInterval(t)
  }
}

function workerEntry(): {file: string; execArgv: string[]} {
  const here = fileURLToPath(import.meta.url)
  const js = here.replace(/index\.(ts|js)$/, 'worker.js')
  if (here.endsWith('.js') && existsSync(js)) return {file: js, execArgv: []}
  return {file: here.replace(/index\.ts$/, 'worker.ts'), execArgv: ['--import', 'tsx']}
}

async function runWorkers(o: BenchOptions, parts: Slice[], ready: () => Promise<void>, hooks: BenchHooks): Promise<PartResult[]> {
  const {file, execArgv} = workerEntry()
  const children: ChildProcess[] = []
  const progress: Progress[] = parts.map(() => ({phase: 'connecting', connected: 0, connectFailed: 0, sent: 0, received: 0, errors: 0}))
  const results: (PartResult | undefined)[] = []
  let readyCount = 0
  // Hard bound on the whole run, whatever the workers do.
  const limit = (o.connectTimeout * Math.ceil(o.clients / o.connectConcurrency / parts.length) + o.duration + o.drainTimeout + 60) * 1000
  const t = setInterval(() => hooks.progress?.(sum(progress)), 250)
  try {
    return await new Promise<PartResult[]>((resolve, reject) => {
      const killer = setTimeout(() => reject(new Error('bench workers did not finish in time')), limit)
      parts.forEach((slice, k) => {
        const child = fork(file, [], {execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
        children.push(child)
        child.on('message', async (m: {type: string; progress?: Progress; part?: PartResult; message?: string}) => {
          if (m.progress) progress[k] = m.progress
          if (m.type === 'ready' && ++readyCount === parts.length) {
            await ready()
            for (const c of children) c.send({type: 'go'})
          } else if (m.type === 'result') {
            results[k] = m.part
            child.disconnect()
            if (results.filter(Boolean).length === parts.length) {
              clearTimeout(killer)
              resolve(results as PartResult[])
            }
          } else if (m.type === 'error') reject(new Error(`worker ${k}: ${m.message}`))
        })
        child.on('exit', (code) => {
          if (!results[k]) reject(new Error(`worker ${k} exited with code ${code}`))
        })
        child.send({type: 'start', options: o, slice})
      })
    })
  } finally {
    clearInterval(t)
    for (const c of children) if (c.exitCode === null && c.pid) c.kill()
  }
}

export function sum(ps: Progress[]): Progress {
  const phases: Progress['phase'][] = ['connecting', 'running', 'draining', 'done']
  return {
    phase: phases[Math.min(...ps.map((p) => phases.indexOf(p.phase)))],
    connected: ps.reduce((a, p) => a + p.connected, 0),
    connectFailed: ps.reduce((a, p) => a + p.connectFailed, 0),
    sent: ps.reduce((a, p) => a + p.sent, 0),
    received: ps.reduce((a, p) => a + p.received, 0),
    errors: ps.reduce((a, p) => a + p.errors, 0),
  }
}

function merge(o: BenchOptions, parts: PartResult[], broker: BenchResult['broker']): BenchResult {
  const total = (f: (p: PartResult) => number) => parts.reduce((a, p) => a + f(p), 0)
  const latency = new Histogram()
  const probe = new Histogram()
  const bc = new Broadcasts()
  const errors: Record<string, number> = {}
  for (const p of parts) {
    latency.merge(p.latency)
    if (p.probe) probe.merge(p.probe)
    if (p.broadcasts) bc.merge(p.broadcasts)
    for (const [k, v] of Object.entries(p.errors)) errors[k] = (errors[k] ?? 0) + v
  }
  const sent = total((p) => p.sent)
  const received = total((p) => p.received)
  const per = o.mode === 'fanout' ? o.clients : o.mode === 'sub' ? null : deliveriesPerPublish(o)
  const expected = per === null ? null : sent * per
  const measureSeconds = Math.max(...parts.map((p) => p.measureMs)) / 1000
  const connectSeconds = Math.max(...parts.map((p) => p.connectMs)) / 1000
  const connected = total((p) => p.connected)
  const wall = Math.max(...parts.map((p) => p.wallMs))
  const cpuMs = total((p) => p.cpuUserMs + p.cpuSystemMs)
  const round = (n: number) => Math.round(n * 10) / 10
  let broadcasts: BenchResult['broadcasts'] = null
  if (o.mode === 'fanout') {
    const {complete, incomplete} = bc.completion(o.clients, sent)
    broadcasts = {sent, complete: complete.count, incomplete, completionMs: complete.summary()}
  }
  return {
    mode: o.mode,
    target: `${o.tls ? 'mqtts' : 'mqtt'}://${o.host}:${o.port}`,
    protocol: o.protocol,
    qos: o.qos,
    size: o.size,
    clients: o.clients,
    subscribers: o.mode === 'fanout' ? o.clients : o.subscribers,
    workers: parts.length,
    connect: {
      attempted: connected + total((p) => p.connectFailed),
      connected,
      failed: total((p) => p.connectFailed),
      seconds: Math.round(connectSeconds * 1000) / 1000,
      perSecond: connectSeconds > 0 ? Math.round(connected / connectSeconds) : 0,
    },
    messages: {sent, received, expected, lost: expected === null ? 0 : Math.max(0, expected - received), acked: total((p) => p.acked)},
    rates: {
      sentPerSecond: measureSeconds > 0 ? Math.round(total((p) => p.sentMeasured) / measureSeconds) : 0,
      receivedPerSecond: measureSeconds > 0 ? Math.round(total((p) => p.receivedMeasured) / measureSeconds) : 0,
      measuredSeconds: round(measureSeconds),
    },
    latencyMs: latency.summary(),
    broadcasts,
    probeMs: probe.summary(),
    errors: {count: total((p) => p.errorCount), messages: errors},
    generator: {
      cpuPercent: wall > 0 ? round((cpuMs / wall) * 100) : 0,
      userMs: Math.round(total((p) => p.cpuUserMs)),
      systemMs: Math.round(total((p) => p.cpuSystemMs)),
      wallSeconds: round(wall / 1000),
      processes: parts.length,
    },
    broker,
  }
}
