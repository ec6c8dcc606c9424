/**
 * The mutation fuzzer's driver. It starts the broker as a child process on 127.0.0.1 (so a crash
 * is an exit), keeps a bystander pair (a QoS 1 publisher and its subscriber) talking through it,
 * and runs many fuzz connections at once. Connection i is fully determined by (seed, i): a CONNECT
 * of a random version (sometimes mutated), then up to 60 packets of every type, each mutated with a
 * per-connection probability (bit flips, truncation, rewritten remaining / property / string
 * lengths, duplicated properties, reserved bits, invalid UTF-8 and U+0000, random types, garbage,
 * splices, packet ids), written in random chunks.
 * Failures: the broker process exits (crash), a bystander message takes longer than `hangMs`
 * (hang), a bystander message never arrives (loss), memory not back to its baseline.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import mqtt, {type Packet} from 'mqtt-packet'
import {tsxImportUrl} from '../../src/control/runtime.js'
import {BROKER_NODE_FLAGS} from '../../src/broker/node-flags.js'
import {Rng, type Version, connectionSeed, encode, mutate, randomConnect, randomPacket} from './corpus.js'

export interface FuzzOptions {
  seed: number
  /** Packets to send in all (valid and mutated, CONNECTs included). */
  packets: number
  /** Fuzz connections open at once. */
  concurrency?: number
  /** A bystander message slower than this is a hang (ms). */
  hangMs?: number
  /** Replay only this connection index (reproduce a crash). */
  only?: number
  log?: (line: string) => void
}

export interface FuzzResult {
  seed: number
  packetsSent: number
  packetsMutated: number
  connections: number
  crashed: boolean
  crash?: {exitCode: number | null; signal: string | null; stderrTail: string; liveConnections: number[]; file: string}
  hangs: number
  worstBystanderMs: number
  bystanderSent: number
  bystanderReceived: number
  bystanderLost: number
  /** Broker memory after gc, before (after a warm-up) and after the run. */
  before?: NodeJS.MemoryUsage
  /** After the run, with the offline sessions the fuzz clients left (and their queues) still held. */
  withSessions?: NodeJS.MemoryUsage
  /** Offline sessions ended before `after` was taken. */
  sessionsExpired?: number
  after?: NodeJS.MemoryUsage
  brokerStats?: Record<string, number>
  /** Warn / error lines the broker wrote. */
  logLines: number
  seconds: number
}

const ENTRY = fileURLToPath(new URL('./broker-child.ts', import.meta.url))
const BYSTANDER = fileURLToPath(new URL('./bystander-child.ts', import.meta.url))

export interface BystanderReport {
  sent: number
  received: number
  lost: number
  hangs: number
  worstMs: number
}

/**
 * The bystander runs in its own process: its timings then measure the broker, not this process's
 * event loop (busy generating and writing fuzz traffic).
 */
async function startBystander(port: number, seed: number, hangMs: number): Promise<{stop(): Promise<BystanderReport>; kill(): void}> {
  const proc = spawn(process.execPath, ['--import', tsxImportUrl(), BYSTANDER, String(port), String(seed), String(hangMs)], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve())
    proc.once('exit', (code) => reject(new Error(`bystander exited with ${code} before it was ready`)))
  })
  let report: Promise<BystanderReport> | undefined
  return {
    stop: () =>
      (report ??= new Promise<BystanderReport>((resolve) => {
        proc.once('message', (m: BystanderReport) => resolve(m))
        proc.send('stop')
      })),
    kill: () => void (proc.exitCode === null && proc.kill()),
  }
}

export interface Child {
  proc: ChildProcess
  port: number
  stderr: string
  logLines: number
  exited: Promise<{code: number | null; signal: string | null}>
  ask<T>(message: string, key: string): Promise<T>
}

export async function startChild(): Promise<Child> {
  const proc = spawn(process.execPath, [...BROKER_NODE_FLAGS, '--expose-gc', '--import', tsxImportUrl(), ENTRY], {stdio: ['ignore', 'pipe', 'pipe', 'ipc']})
  const child: Child = {
    proc,
    port: 0,
    stderr: '',
    logLines: 0,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({code, signal}))),
    ask: <T>(message: string, key: string) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`broker did not answer "${message}" within 10 s`)), 10_000)
        const on = (m: Record<string, unknown>): void => {
          if (!(key in m)) return
          proc.off('message', on)
          clearTimeout(timer)
          resolve(m[key] as T)
        }
        proc.on('message', on)
        proc.send(message)
      }),
  }
  proc.stderr!.on('data', (d: Buffer) => {
    const s = d.toString()
    child.logLines += s.split('\n').length - 1
    child.stderr = (child.stderr + s).slice(-20_000)
  })
  child.port = await new Promise<number>((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /\{"port":(\d+)\}/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code} before listening: ${child.stderr}`)))
  })
  return child
}

/** A minimal MQTT 3.1.1 client over a raw socket (no library: nothing between us and the bytes). */
export class Peer {
  readonly socket: net.Socket
  readonly #parser = mqtt.parser({protocolVersion: 4})
  onPacket: (p: Packet) => void = () => {}
  closed = false

  constructor(port: number) {
    this.socket = net.connect({host: '127.0.0.1', port})
    this.socket.setNoDelay(true)
    this.socket.on('data', (d) => this.#parser.parse(d))
    this.socket.on('error', () => {})
    this.socket.on('close', () => (this.closed = true))
    this.#parser.on('packet', (p: Packet) => this.onPacket(p))
  }

  send(p: Packet): void {
    if (!this.closed) this.socket.write(mqtt.generate(p, {protocolVersion: 4}))
  }

  async connect(clientId: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve)
      this.socket.once('error', reject)
    })
    const acked = new Promise<void>((resolve, reject) => {
      this.onPacket = (p) => (p.cmd === 'connack' && p.returnCode === 0 ? resolve() : reject(new Error(`bystander ${clientId}: ${JSON.stringify(p)}`)))
      this.socket.once('close', () => reject(new Error(`bystander ${clientId}: closed before CONNACK`)))
    })
    this.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0})
    await acked
  }
}

/**
 * The bystander: a publisher sends a numbered QoS 1 message every `everyMs` to its own topic; the
 * subscriber must get each one, within hangMs. The fuzz clients never use these client ids.
 */
export class Bystander {
  sent = 0
  received = 0
  hangs = 0
  worstMs = 0
  readonly #sentAt = new Map<number, number>()
  #timer: NodeJS.Timeout | undefined
  #watch: NodeJS.Timeout | undefined
  #pub!: Peer
  #sub!: Peer
  readonly topic: string

  constructor(
    readonly seed: number,
    readonly hangMs: number,
  ) {
    this.topic = `bystander/${seed}/t`
  }

  async start(port: number): Promise<void> {
    this.#sub = new Peer(port)
    await this.#sub.connect(`bystander-sub-${this.seed}`)
    const subacked = new Promise<void>((resolve) => {
      this.#sub.onPacket = (p) => {
        if (p.cmd === 'suback') resolve()
        else if (p.cmd === 'publish') this.#delivered(p)
      }
    })
    this.#sub.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: this.topic, qos: 1}]})
    await subacked
    this.#pub = new Peer(port)
    await this.#pub.connect(`bystander-pub-${this.seed}`)
    this.#pub.onPacket = () => {}
    this.#timer = setInterval(() => this.#publish(), 20)
    this.#watch = setInterval(() => this.#check(), 250)
  }

  #publish(): void {
    const n = ++this.sent
    this.#sentAt.set(n, performance.now())
    this.#pub.send({cmd: 'publish', topic: this.topic, payload: Buffer.from(String(n)), qos: 1, retain: false, dup: false, messageId: (n % 65535) + 1})
  }

  #delivered(p: mqtt.IPublishPacket): void {
    if (p.messageId !== undefined) this.#sub.send({cmd: 'puback', messageId: p.messageId})
    const n = Number(p.payload.toString())
    const at = this.#sentAt.get(n)
    if (at === undefined) return // a duplicate, or a fuzz client's publish on a matching topic
    this.#sentAt.delete(n)
    this.received++
    const ms = performance.now() - at
    if (ms > this.worstMs) this.worstMs = ms
  }

  #check(): void {
    const now = performance.now()
    for (const [n, at] of this.#sentAt) {
      if (now - at > this.hangMs) {
        this.hangs++
        this.#sentAt.delete(n) // counted once; it also counts as lost unless it arrives
        this.#late.add(n)
      }
    }
  }

  readonly #late = new Set<number>()

  /** Stops publishing and waits (up to hangMs) for what is still in flight. */
  async stop(): Promise<number> {
    clearInterval(this.#timer)
    const until = performance.now() + this.hangMs
    while (this.#sentAt.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20))
    clearInterval(this.#watch)
    const lost = this.#sentAt.size + this.#late.size
    this.#pub.socket.destroy()
    this.#sub.socket.destroy()
    return lost
  }

  get alive(): boolean {
    return !this.#pub.closed && !this.#sub.closed
  }
}

/** The bytes connection `index` of a run writes (deterministic). */
export function connectionBytes(seed: number, index: number): {version: Version; frames: Buffer[]; mutated: number; chunks: number[]} {
  const rng = new Rng(connectionSeed(seed, index))
  const version = rng.pick([3, 4, 4, 5, 5, 5] as const)
  const frames: Buffer[] = []
  let mutated = 0
  let connect =
    encode(randomConnect(rng, version), version) ??
    encode({cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId: `fz-${index % 8}`, clean: true, keepalive: 0}, version)!
  if (rng.chance(0.06)) {
    connect = mutate(rng, connect, version)
    mutated++
  }
  frames.push(connect)
  const rate = rng.pick([0.01, 0.05, 0.15, 0.4])
  const n = rng.range(1, 60)
  for (let i = 0; i < n; i++) {
    let bytes = encode(randomPacket(rng, version), version)
    if (bytes === undefined) continue
    if (rng.chance(rate)) {
      bytes = mutate(rng, bytes, version)
      mutated++
    }
    frames.push(bytes)
  }
  if (rng.chance(0.85)) frames.push(encode({cmd: 'disconnect'}, version)!)
  const total = frames.reduce((s, f) => s + f.length, 0)
  const cuts = Array.from({length: rng.int(4)}, () => rng.int(total)).sort((a, b) => a - b)
  return {version, frames, mutated, chunks: cuts}
}

/** Runs one fuzz connection: write its bytes, read and drop what comes back, until closed or idle. */
function runConnection(port: number, seed: number, index: number, idleMs: number): Promise<{packets: number; mutated: number}> {
  const {frames, mutated, chunks} = connectionBytes(seed, index)
  const all = Buffer.concat(frames)
  return new Promise((resolve) => {
    const socket = net.connect({host: '127.0.0.1', port})
    let timer: NodeJS.Timeout | undefined
    const done = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({packets: frames.length, mutated})
    }
    socket.on('error', () => {})
    socket.on('close', done)
    socket.on('data', () => {})
    socket.once('connect', () => {
      let at = 0
      for (const cut of [...chunks, all.length]) {
        if (cut > at) socket.write(all.subarray(at, cut))
        at = cut
      }
      timer = setTimeout(done, idleMs)
    })
  })
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const t0 = performance.now()
  const log = options.log ?? (() => {})
  const hangMs = options.hangMs ?? 5000
  const concurrency = options.concurrency ?? 64
  const child = await startChild()
  const result: FuzzResult = {
    seed: options.seed,
    packetsSent: 0,
    packetsMutated: 0,
    connections: 0,
    crashed: false,
    hangs: 0,
    worstBystanderMs: 0,
    bystanderSent: 0,
    bystanderReceived: 0,
    bystanderLost: 0,
    logLines: 0,
    seconds: 0,
  }
  const live = new Set<number>()
  let crashed = false
  void child.exited.then(({code, signal}) => {
    if (stopping) return
    crashed = true
    const file = join(tmpdir(), `mqttctl-fuzz-crash-${options.seed}-${Date.now()}.json`)
    writeFileSync(file, JSON.stringify({seed: options.seed, liveConnections: [...live], replay: [...live].map((i) => `npm run fuzz -- --seed ${options.seed} --replay ${i}`)}, null, 1))
    result.crash = {exitCode: code, signal, stderrTail: child.stderr.slice(-4000), liveConnections: [...live], file}
  })
  let stopping = false
  const bystander = await startBystander(child.port, options.seed, hangMs)
  try {
    if (options.only !== undefined) {
      const r = await runConnection(child.port, options.seed, options.only, 1000)
      result.packetsSent = r.packets
      result.packetsMutated = r.mutated
      result.connections = 1
      await new Promise((r2) => setTimeout(r2, 200))
    } else {
      const warmup = Math.min(Math.floor(options.packets / 20), 20_000)
      let next = 0
      let measured = warmup === 0
      if (measured) result.before = await child.ask<NodeJS.MemoryUsage>('gc', 'memory')
      let lastLog = performance.now()
      const worker = async (): Promise<void> => {
        while (!crashed && result.packetsSent < options.packets) {
          if (!measured && result.packetsSent >= warmup) {
            measured = true
            result.before = await child.ask<NodeJS.MemoryUsage>('gc', 'memory')
          }
          const index = next++
          live.add(index)
          const r = await runConnection(child.port, options.seed, index, 200)
          live.delete(index)
          result.packetsSent += r.packets
          result.packetsMutated += r.mutated
          result.connections++
          if (performance.now() - lastLog > 10_000) {
            lastLog = performance.now()
            log(`  ${result.packetsSent.toLocaleString('en')} packets, ${result.connections.toLocaleString('en')} connections`)
          }
        }
      }
      await Promise.all(Array.from({length: concurrency}, worker))
    }
    if (!crashed) {
      const b = await bystander.stop()
      Object.assign(result, {bystanderSent: b.sent, bystanderReceived: b.received, bystanderLost: b.lost, hangs: b.hangs, worstBystanderMs: b.worstMs})
      // Every fuzz socket is closed on our side: wait until the broker has let go of them too.
      for (let i = 0; i < 100 && !crashed; i++) {
        const stats = await child.ask<Record<string, number>>('stats', 'stats')
        result.brokerStats = stats
        if (stats.connectionsLive === 0) break
        await new Promise((r) => setTimeout(r, 100))
      }
      if (!crashed) {
        result.withSessions = await child.ask<NodeJS.MemoryUsage>('gc', 'memory')
        result.sessionsExpired = await child.ask<number>('expire', 'expired')
        result.after = await child.ask<NodeJS.MemoryUsage>('gc', 'memory')
      }
    }
  } finally {
    stopping = !crashed
    result.crashed = crashed
    if (crashed) {
      const b = await bystander.stop()
      Object.assign(result, {bystanderSent: b.sent, bystanderReceived: b.received, bystanderLost: b.lost, hangs: b.hangs, worstBystanderMs: b.worstMs})
    }
    bystander.kill()
    result.logLines = child.logLines
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGTERM')
      const killer = setTimeout(() => child.proc.kill('SIGKILL'), 5000)
      await child.exited
      clearTimeout(killer)
    }
    result.seconds = Math.round((performance.now() - t0) / 100) / 10
  }
  return result
}

const mb = (n: number | undefined): string => (n === undefined ? '?' : `${(n / 1048576).toFixed(1)} MB`)

/** One-paragraph summary of a result. */
export function describeResult(r: FuzzResult): string {
  const lines = [
    `seed ${r.seed}: ${r.packetsSent.toLocaleString('en')} packets (${r.packetsMutated.toLocaleString('en')} mutated) over ${r.connections.toLocaleString('en')} connections in ${r.seconds} s`,
    `crashes ${r.crashed ? 1 : 0}, hangs ${r.hangs}, bystander ${r.bystanderReceived}/${r.bystanderSent} delivered (lost ${r.bystanderLost}, worst ${r.worstBystanderMs} ms), broker log lines ${r.logLines}`,
    `broker memory after gc, with the ${r.brokerStats?.sessionsOrphan ?? '?'} offline sessions the clients left: RSS ${mb(r.before?.rss)} -> ${mb(r.withSessions?.rss)}, heap ${mb(r.before?.heapUsed)} -> ${mb(r.withSessions?.heapUsed)}, external ${mb(r.before?.external)} -> ${mb(r.withSessions?.external)}`,
    `after those ${r.sessionsExpired ?? '?'} sessions end: RSS ${mb(r.after?.rss)}, heap ${mb(r.after?.heapUsed)}, external ${mb(r.after?.external)}`,
  ]
  if (r.brokerStats) lines.push(`broker: ${JSON.stringify(r.brokerStats)}`)
  if (r.crash) lines.push(`CRASH: exit ${r.crash.exitCode} ${r.crash.signal ?? ''}; live connections ${r.crash.liveConnections.join(',')} (${r.crash.file})\n${r.crash.stderrTail}`)
  return lines.join('\n')
}
