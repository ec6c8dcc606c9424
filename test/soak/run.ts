/**
 * The soak's load and measurement (test/soak/soak.ts is the command, soak.test.ts the 60-second
 * version). The broker runs as a child process (test/fuzz/broker-child.ts); this process plays
 * every client over raw sockets with mqtt-packet.
 */
import net from 'node:net'
import mqtt, {type Packet} from 'mqtt-packet'
import {Rng} from '../fuzz/corpus.js'
import {type Child, startChild} from '../fuzz/run.js'

export interface SoakOptions {
  seconds: number
  clients: number
  seed: number
  log?: (line: string) => void
}

export interface Figures {
  rss: number
  heapUsed: number
  fds: number
  timers: number
  sessions: number
}

export interface SoakResult {
  seconds: number
  connects: number
  published: number
  delivered: number
  crashed: boolean
  /** Idle broker after a warm-up round of the same load, and idle after the soak. */
  baseline?: Figures
  after?: Figures
}

class SoakClient {
  readonly socket: net.Socket
  readonly #parser: ReturnType<typeof mqtt.parser>
  closed = false
  delivered = 0

  constructor(
    port: number,
    readonly version: 4 | 5,
  ) {
    this.socket = net.connect({host: '127.0.0.1', port})
    this.socket.setNoDelay(true)
    this.#parser = mqtt.parser({protocolVersion: version})
    this.#parser.on('packet', (p: Packet) => this.#onPacket(p))
    this.#parser.on('error', () => this.socket.destroy())
    this.socket.on('data', (d) => this.#parser.parse(d))
    this.socket.on('error', () => {})
    this.socket.on('close', () => (this.closed = true))
  }

  send(p: Packet): void {
    if (!this.closed && !this.socket.writableEnded) this.socket.write(mqtt.generate(p, {protocolVersion: this.version}))
  }

  #onPacket(p: Packet): void {
    if (p.cmd !== 'publish') return
    this.delivered++
    if (p.qos === 1) this.send({cmd: 'puback', messageId: p.messageId})
    else if (p.qos === 2) this.send({cmd: 'pubrec', messageId: p.messageId})
  }
}

async function figures(child: Child): Promise<Figures> {
  const m = await lastGc(child)
  const stats = await child.ask<Record<string, number>>('stats', 'stats')
  return {rss: m.memory.rss, heapUsed: m.memory.heapUsed, fds: m.fds, timers: m.resources.Timeout ?? 0, sessions: stats.sessionsTotal}
}

/** The full answer of a "gc" request (ask() returns one key of it). */
function lastGc(child: Child): Promise<{memory: NodeJS.MemoryUsage; resources: Record<string, number>; fds: number}> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (!('memory' in m)) return
      child.proc.off('message', on)
      resolve(m as never)
    }
    child.proc.on('message', on)
    child.proc.send('gc')
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Runs the load for `ms`; returns when every client it opened is closed. */
async function load(child: Child, opts: SoakOptions, ms: number, rng: Rng, totals: SoakResult): Promise<void> {
  const port = child.port
  const all = new Set<SoakClient>()
  const open = (version: 4 | 5, connect: Partial<mqtt.IConnectPacket>): SoakClient => {
    const c = new SoakClient(port, version)
    all.add(c)
    c.socket.on('close', () => {
      all.delete(c)
      totals.delivered += c.delivered
    })
    c.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 30, clientId: '', ...connect} as mqtt.IConnectPacket)
    totals.connects++
    return c
  }
  const quarter = Math.max(1, Math.floor(opts.clients / 4))
  const subs = Array.from({length: quarter}, (_, i) => {
    const c = open(i % 2 ? 5 : 4, {clientId: `soak-sub-${i}`})
    const filter = ['soak/+/data', '$share/g/soak/#', 'soak/#'][i % 3]
    c.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos: i % 3 === 2 ? 0 : 1}]})
    return c
  })
  const pubs = Array.from({length: quarter}, (_, i) => open(i % 2 ? 5 : 4, {clientId: `soak-pub-${i}`}))
  let ids = 0
  const publishTimer = setInterval(() => {
    for (let i = 0; i < pubs.length; i++) {
      const qos = rng.chance(0.5) ? 1 : 0
      pubs[i].send({cmd: 'publish', topic: `soak/${i}/data`, payload: Buffer.alloc(rng.range(10, 2000), 7), qos, messageId: qos ? (ids++ % 65535) + 1 : undefined, retain: rng.chance(0.02), dup: false} as mqtt.IPublishPacket)
      totals.published++
    }
  }, 100)
  const slots: Array<SoakClient | undefined> = Array.from({length: Math.max(1, opts.clients - 2 * quarter)})
  const churnTimer = setInterval(() => {
    const i = rng.int(slots.length)
    const c = slots[i]
    if (c !== undefined && !c.closed) {
      const how = rng.int(10)
      if (how < 5) c.send({cmd: 'disconnect'})
      c.socket.destroy()
      slots[i] = undefined
      return
    }
    const version = rng.chance(0.5) ? 5 : 4
    const persistent = rng.chance(0.3)
    const will = rng.chance(0.2) ? {topic: `soak/will/${i}`, payload: Buffer.from('gone'), qos: 1 as const, retain: false} : undefined
    const n = open(version, {
      clientId: `soak-churn-${i}`,
      clean: !persistent,
      will,
      properties: version === 5 && persistent ? {sessionExpiryInterval: 2} : undefined,
    })
    if (rng.chance(0.5)) n.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: rng.pick(['soak/#', 'soak/1/data', 'soak/will/#']), qos: rng.pick([0, 1] as const)}]})
    slots[i] = n
  }, 50)
  await sleep(ms)
  clearInterval(publishTimer)
  clearInterval(churnTimer)
  for (const c of [...subs, ...pubs, ...slots]) {
    if (c === undefined || c.closed) continue
    c.send({cmd: 'disconnect'})
    c.socket.end()
  }
  for (let i = 0; i < 100 && all.size > 0; i++) await sleep(50)
  for (const c of all) c.socket.destroy()
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {})
  const rng = new Rng(opts.seed)
  const child = await startChild()
  const result: SoakResult = {seconds: opts.seconds, connects: 0, published: 0, delivered: 0, crashed: false}
  let crashed = false
  void child.exited.then(() => (crashed = true))
  try {
    // Warm-up: the same load for a tenth of the time (at least 5 s), then the idle baseline.
    const warm = Math.max(5, Math.floor(opts.seconds / 10)) * 1000
    await load(child, opts, warm, rng, result)
    await sleep(3000) // 2 s session expiries run out
    result.baseline = await figures(child)
    log(`baseline: ${describeFigures(result.baseline)}`)
    const end = Date.now() + opts.seconds * 1000
    while (Date.now() < end && !crashed) {
      const slice = Math.min(60_000, end - Date.now())
      await load(child, opts, slice, rng, result)
      if (!crashed && Date.now() < end) log(`  ${Math.round((opts.seconds * 1000 - (end - Date.now())) / 1000)} s: ${describeFigures(await figures(child))}`)
    }
    await sleep(3000)
    if (!crashed) result.after = await figures(child)
  } finally {
    result.crashed = crashed
    if (child.proc.exitCode === null) {
      child.proc.kill('SIGTERM')
      await child.exited
    }
  }
  return result
}

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`

export function describeFigures(f: Figures): string {
  return `RSS ${mb(f.rss)}, heap ${mb(f.heapUsed)}, fds ${f.fds}, timers ${f.timers}, sessions ${f.sessions}`
}

/** Tolerances for "flat" (see soak.ts). */
export const FLAT = {heap: 16 * 1048576, rss: 64 * 1048576, fds: 8, timers: 4}

export function soakVerdict(r: SoakResult): {summary: string; failures: string[]} {
  const failures: string[] = []
  if (r.crashed) failures.push('the broker exited')
  const {baseline: b, after: a} = r
  if (b === undefined || a === undefined) failures.push('no figures')
  else {
    if (a.heapUsed - b.heapUsed > FLAT.heap) failures.push(`heap grew ${mb(a.heapUsed - b.heapUsed)}`)
    if (a.rss - b.rss > FLAT.rss) failures.push(`RSS grew ${mb(a.rss - b.rss)}`)
    if (a.fds - b.fds > FLAT.fds) failures.push(`file descriptors grew by ${a.fds - b.fds}`)
    if (a.timers - b.timers > FLAT.timers) failures.push(`timers grew by ${a.timers - b.timers}`)
  }
  const summary = [
    `soak ${r.seconds} s: ${r.connects} connects, ${r.published} published, ${r.delivered} delivered`,
    b && `baseline ${describeFigures(b)}`,
    a && `after    ${describeFigures(a)}`,
  ]
    .filter(Boolean)
    .join('\n')
  return {summary, failures}
}
