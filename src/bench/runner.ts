/**
 * Runs one process's share of a bench: connects its clients, then drives the load (closed-loop
 * window or fixed rate, broadcasts for fanout) and counts what comes back. The parent process (or
 * `runBench` directly when there is one worker) merges the PartResult of every share.
 */
import type {BenchClient, ClientSink} from './client.js'
import {Histogram} from './histogram.js'
import type {BenchOptions} from './options.js'
import {buildRoster, connectAll} from './roster.js'
import {PINGREQ} from './packets.js'
import {Broadcasts} from './broadcasts.js'
import type {PartResult, Progress, RunHooks, Slice} from './types.js'

export type {PartResult, Progress, RunHooks, Slice} from './types.js'

const QUIET_MS = 1000

export class Runner implements ClientSink {
  pubs: BenchClient[] = []
  subs: BenchClient[] = []
  idle: BenchClient[] = []
  probePub?: BenchClient
  probeSub?: BenchClient
  sent = 0
  received = 0
  errorCount = 0
  errors = new Map<string, number>()
  latency = new Histogram()
  probe = new Histogram()
  broadcasts = new Broadcasts()
  phase: Progress['phase'] = 'connecting'
  connected = 0
  connectFailed = 0
  #per = 0
  #measuring = false
  /** Latency is recorded from the end of the warm-up to the end of the drain. */
  #recording = false
  #publishing = false
  #pumpScheduled = false
  #waitingWindow = false
  #rr = 0
  #seq = 0
  #lastReceiveAt = 0
  #mark = {sent: 0, received: 0, at: 0}
  #end = {sent: 0, received: 0, at: 0}
  #wake?: () => void

  constructor(
    readonly o: BenchOptions,
    readonly slice: Slice,
  ) {}

  progress(): Progress {
    return {
      phase: this.phase,
      connected: this.connected,
      connectFailed: this.connectFailed,
      sent: this.sent,
      received: this.received,
      errors: this.errorCount,
    }
  }

  // ClientSink
  delivered(client: BenchClient, buf: Buffer, start: number, end: number, now: number): void {
    this.#lastReceiveAt = now
    if (end - start < 12) return
    const lat = now - buf.readDoubleLE(start)
    if (client === this.probeSub) {
      if (this.#recording) this.probe.record(lat)
      return
    }
    this.received++
    if (this.o.mode === 'fanout') this.broadcasts.record(buf.readUInt32LE(start + 8), lat)
    else if (this.#recording) this.latency.record(lat)
    if (this.#waitingWindow && this.#outstanding() < this.o.window / 2) this.#schedulePump()
    if (this.#wake) this.#wake()
  }

  ready(): void {
    if (this.#publishing) this.#schedulePump()
  }

  failed(_client: BenchClient, error: Error): void {
    this.error(error)
  }

  error(e: Error): void {
    this.errorCount++
    const key = e.message
    if (this.errors.has(key) || this.errors.size < 10) this.errors.set(key, (this.errors.get(key) ?? 0) + 1)
  }

  async run(hooks: RunHooks = {}): Promise<PartResult> {
    const o = this.o
    const roster = buildRoster(o, this.slice, this)
    Object.assign(this, {pubs: roster.pubs, subs: roster.subs, idle: roster.idle, probePub: roster.probePub, probeSub: roster.probeSub})
    this.#per = o.subTopic.includes('%i') ? (this.subs.length > 0 ? 1 : 0) : this.subs.length

    const t0 = performance.now()
    await connectAll(o, roster.work, () => this.connected++, (e) => {
      this.connectFailed++
      this.error(e)
    })
    const connectMs = performance.now() - t0
    await hooks.ready?.()

    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    this.phase = 'running'
    const pinger = this.#keepalive()
    try {
      await this.#load()
      this.phase = 'draining'
      await this.#drain()
    } finally {
      clearInterval(pinger)
    }
    const cpu = process.cpuUsage(cpu0)
    const wallMs = performance.now() - w0
    this.phase = 'done'
    for (const c of [...this.pubs, ...this.subs, ...this.idle, this.probePub, this.probeSub]) c?.close()
    return {
      connected: this.connected,
      connectFailed: this.connectFailed,
      connectMs,
      sent: this.sent,
      received: this.received,
      acked: this.pubs.reduce((a, c) => a + c.acked, 0),
      sentMeasured: this.#end.sent - this.#mark.sent,
      receivedMeasured: this.#end.received - this.#mark.received,
      measureMs: (this.#end.at - this.#mark.at) / 1000,
      latency: this.latency.toJSON(),
      probe: this.probePub ? this.probe.toJSON() : null,
      broadcasts: o.mode === 'fanout' ? this.broadcasts.toJSON() : null,
      errors: Object.fromEntries(this.errors),
      errorCount: this.errorCount,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs,
    }
  }

  #keepalive(): NodeJS.Timeout {
    const every = Math.max(1, this.o.keepalive) * 750
    const t = setInterval(() => {
      for (const c of [...this.idle, ...this.subs, ...this.pubs]) c.write(PINGREQ)
    }, every)
    t.unref()
    return t
  }

  #markStart(): void {
    this.#measuring = true
    this.#recording = true
    this.#mark = {sent: this.sent, received: this.received, at: performanceMicros()}
  }

  #markEnd(): void {
    if (!this.#measuring) this.#markStart()
    this.#measuring = false
    this.#end = {sent: this.sent, received: this.received, at: performanceMicros()}
  }

  /** Runs until the duration elapses or every quota/broadcast is done. */
  async #load(): Promise<void> {
    const o = this.o
    const warm = setTimeout(() => this.#markStart(), o.warmup * 1000)
    if (o.warmup <= 0) this.#markStart()
    const deadline = o.duration > 0 ? performance.now() + o.duration * 1000 : Infinity
    try {
      if (o.mode === 'fanout') await this.#broadcastLoop(deadline)
      else if (this.pubs.length > 0) await this.#publishLoop(deadline)
      else await this.#until(deadline, () => o.count > 0 && this.received >= o.count)
    } finally {
      clearTimeout(warm)
      this.#markEnd()
    }
  }

  /** Resolves at the deadline or as soon as done() holds (checked on every receipt and each 50 ms). */
  #until(deadline: number, done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (done() || performance.now() >= deadline) {
          clearInterval(t)
          this.#wake = undefined
          resolve()
        }
      }
      const t = setInterval(check, 50)
      this.#wake = () => done() && check()
      check()
    })
  }

  async #publishLoop(deadline: number): Promise<void> {
    const o = this.o
    if (o.count > 0) {
      const per = Math.floor(o.count / o.clients)
      for (const c of this.pubs) c.quota = per + (c.index < o.count % o.clients ? 1 : 0)
    }
    this.#publishing = true
    let ticker: NodeJS.Timeout | undefined
    if (this.slice.rate > 0) {
      const start = performance.now()
      let scheduled = 0
      const tick = () => {
        const due = Math.floor((this.slice.rate * (performance.now() - start)) / 1000) - scheduled
        if (due <= 0) return
        scheduled += due
        const n = this.pubs.length
        for (let k = 0; k < n; k++) this.pubs[(this.#rr + k) % n].credit += Math.floor(due / n) + (k < due % n ? 1 : 0)
        this.#rr = (this.#rr + due) % n
        this.#pump()
      }
      ticker = setInterval(tick, this.slice.rate / this.pubs.length <= 2000 ? 1 : 5)
    }
    this.#pump()
    await this.#until(deadline, () => this.pubs.every((c) => c.quota <= 0))
    this.#publishing = false
    clearInterval(ticker)
  }

  #outstanding(): number {
    return this.#per === 0 ? 0 : this.sent - this.received / this.#per
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    setImmediate(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  /** Writes as much as backpressure, in-flight room, rate credit and the window allow (bounded per turn). */
  #pump(): void {
    if (!this.#publishing) return
    const o = this.o
    const rated = this.slice.rate > 0
    const windowed = o.window > 0 && this.#per > 0
    let budget = 8192
    this.#waitingWindow = false
    const n = this.pubs.length
    for (;;) {
      let progressed = false
      for (let k = 0; k < n && budget > 0; k++) {
        const c = this.pubs[(this.#rr + k) % n]
        let m = c.room()
        if (rated) m = Math.min(m, c.credit)
        if (windowed) {
          const allowed = Math.floor(o.window - this.#outstanding())
          if (allowed <= 0) {
            this.#waitingWindow = true
            return
          }
          m = Math.min(m, allowed)
        }
        m = Math.min(m, budget)
        if (m <= 0) continue
        c.publish(m, this.#seq)
        this.#seq += m
        if (rated) c.credit -= m
        this.sent += m
        budget -= m
        progressed = true
      }
      this.#rr = (this.#rr + 1) % n
      if (!progressed) return
      if (budget <= 0) return this.#schedulePump()
    }
  }

  async #broadcastLoop(deadline: number): Promise<void> {
    const o = this.o
    const pub = this.pubs[0]
    let probeTicker: NodeJS.Timeout | undefined
    if (this.probePub) {
      const p = this.probePub
      probeTicker = setInterval(() => p.room() > 0 && p.publish(1), 1)
    }
    try {
      if (!pub) return await this.#until(deadline, () => false)
      // A publisher that failed to connect (or was dropped) sends nothing: counting its broadcasts
      // reported "5 sent, 75,000 lost" for messages that never left this process.
      if (!pub.connected) return
      const subs = this.subs.length
      for (let seq = 0; (o.count <= 0 || seq < o.count) && performance.now() < deadline && pub.connected; seq++) {
        const sentAt = performance.now()
        pub.publish(1, seq)
        this.sent++
        if (o.interval > 0) {
          const next = Math.min(deadline, sentAt + o.interval)
          await this.#until(next, () => false)
        } else {
          await this.#until(Math.min(deadline, sentAt + 5000), () => this.broadcasts.countOf(seq) >= subs)
        }
      }
    } finally {
      clearInterval(probeTicker)
    }
  }

  /** After publishing: wait until everything expected arrived, nothing arrived for a while, or the timeout. */
  async #drain(): Promise<void> {
    const o = this.o
    if (o.mode === 'conn' || this.subs.length === 0) return
    const expected =
      o.mode === 'fanout' ? (this.slice.publisher ? this.sent * this.subs.length : Infinity) : this.sent * this.#per || Infinity
    const deadline = performance.now() + o.drainTimeout * 1000
    this.#lastReceiveAt = performanceMicros()
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const quiet = performanceMicros() - this.#lastReceiveAt > QUIET_MS * 1000
        if (this.received >= expected || quiet || performance.now() >= deadline) {
          clearInterval(t)
          resolve()
        }
      }, 20)
    })
  }
}

function performanceMicros(): number {
  const [s, ns] = process.hrtime()
  return s * 1e6 + ns / 1e3
}
