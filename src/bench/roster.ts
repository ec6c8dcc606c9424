/**
 * The clients of one share of a run, by role, and connecting them: bounded concurrency, an optional
 * connection rate, source addresses round robin (--ifaddr), SUBSCRIBE right after CONNACK.
 */
import {BenchClient, type ClientSink} from './client.js'
import {expand, type BenchOptions} from './options.js'
import type {Slice} from './types.js'

export interface Roster {
  pubs: BenchClient[]
  subs: BenchClient[]
  idle: BenchClient[]
  probePub?: BenchClient
  probeSub?: BenchClient
  /** Everything to connect, in order (subscribers first), with what follows the CONNACK. */
  work: {c: BenchClient; then?: () => Promise<void>}[]
}

function clientId(o: BenchOptions, i: number, role: string): string {
  const base = o.clientId.includes('%i') ? expand(o.clientId, i) : `${o.clientId}${i}`
  return role ? `${base}-${role}` : base
}

export function buildRoster(o: BenchOptions, s: Slice, sink: ClientSink): Roster {
  const r: Roster = {pubs: [], subs: [], idle: [], work: []}
  const range = (a: number, b: number) => Array.from({length: Math.max(0, b - a)}, (_, k) => a + k)
  const client = (i: number, role: string, options = o) => new BenchClient(i, options, sink, clientId(o, i, role))
  // Subscribers on another node of a cluster (subPort) connect there; everything else to `port`.
  const subOptions = o.subPort === undefined ? o : {...o, port: o.subPort}
  const subscriber = (i: number, role: string, filter = expand(o.subTopic, i)) => {
    const c = client(i, role, subOptions)
    c.clean = !o.persistentSubs
    r.subs.push(c)
    r.work.push({c, then: () => c.subscribe(filter, o.qos)})
  }
  const publisher = (i: number, topic = expand(o.topic, i)) => {
    const c = client(i, 'p')
    c.usePublish(topic)
    r.pubs.push(c)
    r.work.push({c})
  }
  if (o.mode === 'conn') {
    for (const i of range(s.from, s.to)) {
      const c = client(i, '')
      r.idle.push(c)
      r.work.push({c, then: o.subscribe ? () => c.subscribe(expand(o.topic, i), o.qos) : undefined})
    }
  } else if (o.mode === 'fanout') {
    for (const i of range(s.from, s.to)) subscriber(i, 's')
    if (s.publisher) {
      publisher(0)
      if (o.probe) {
        const topic = `bench-probe/${process.pid}`
        const ps = client(0, 'probe-s')
        const pp = client(0, 'probe-p')
        pp.usePublish(topic, 0)
        r.probeSub = ps
        r.probePub = pp
        r.work.push({c: ps, then: () => ps.subscribe(topic, 0)}, {c: pp})
      }
    }
  } else {
    for (const i of range(s.subFrom, s.subTo)) subscriber(i, o.mode === 'sub' ? '' : 's')
    if (o.mode !== 'sub') for (const i of range(s.from, s.to)) publisher(i)
  }
  return r
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Connects every client; failures are counted through onFail, never thrown. */
export async function connectAll(o: BenchOptions, work: Roster['work'], onOk: () => void, onFail: (e: Error) => void): Promise<void> {
  let next = 0
  const start = performance.now()
  const rate = o.connectRate > 0 ? o.connectRate / Math.max(1, o.workers) : 0
  const lane = async () => {
    while (next < work.length) {
      const k = next++
      if (rate > 0) {
        const due = start + (k * 1000) / rate - performance.now()
        if (due > 0) await sleep(due)
      }
      const {c, then} = work[k]
      try {
        await c.connect(o.ifaddr.length > 0 ? o.ifaddr[k % o.ifaddr.length] : undefined)
        await then?.()
        onOk()
      } catch (e) {
        c.close()
        onFail(e as Error)
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(o.connectConcurrency, work.length)}, lane))
}
