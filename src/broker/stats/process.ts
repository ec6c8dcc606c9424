/**
 * Process figures sampled on the statistics tick: resident memory, V8 heap and CPU. CPU is the
 * `process.cpuUsage()` delta over the wall-clock time between two samples (100 % = one core busy).
 * A window shorter than MIN_WINDOW_MICROS (the sample taken right at start, or two ticks in a row)
 * is too short to mean anything: then the average since the process started is reported instead.
 */

import {getHeapStatistics} from 'node:v8'

const MIN_WINDOW_MICROS = 1_000_000

export interface ProcessSample {
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /**
   * V8's heap limit, bytes (v8.getHeapStatistics().heap_size_limit): --max-old-space-size (the
   * configuration's runtime.maxOldSpaceMb) plus the young generation, or V8's default. The process
   * dies with "heap out of memory" when the heap in use reaches it; 0 when unknown.
   */
  heapLimitBytes: number
  /** Largest heapUsedBytes seen by this sampler (Mosquitto's heap/maximum). */
  heapPeakBytes: number
  /** User + system CPU time since the process started, seconds. */
  cpuSecondsTotal: number
  /** CPU used between the previous sample and this one, percent of one core. */
  cpuPercent: number
  /** Unix time the process started, seconds. */
  startTimeSeconds: number
}

export interface ProcessClock {
  cpuUsage(): {user: number; system: number}
  /** Monotonic wall clock, ms. */
  now(): number
  /** Seconds since the process started. */
  uptime(): number
  memoryUsage(): {rss: number; heapUsed: number; heapTotal: number}
  /** V8's heap limit, bytes (absent: 0, unknown). */
  heapSizeLimit?(): number
}

const PROCESS_CLOCK: ProcessClock = {
  cpuUsage: () => process.cpuUsage(),
  now: () => performance.now(),
  uptime: () => process.uptime(),
  memoryUsage: () => process.memoryUsage(),
  heapSizeLimit: () => getHeapStatistics().heap_size_limit,
}

export class ProcessSampler {
  readonly #clock: ProcessClock
  #lastCpu: {user: number; system: number}
  #lastWall: number
  #lastPercent: number | undefined
  #heapPeak = 0
  readonly #startTimeSeconds: number

  constructor(clock: ProcessClock = PROCESS_CLOCK) {
    this.#clock = clock
    this.#lastCpu = clock.cpuUsage()
    this.#lastWall = clock.now()
    this.#startTimeSeconds = Math.round((Date.now() - clock.uptime() * 1000) / 1000)
  }

  /** Samples and starts a new CPU window (the statistics tick). */
  sample(): ProcessSample {
    const cpu = this.#clock.cpuUsage()
    const wall = this.#clock.now()
    const cpuMicros = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system)
    const wallMicros = (wall - this.#lastWall) * 1000
    this.#lastCpu = cpu
    this.#lastWall = wall
    this.#lastPercent =
      wallMicros >= MIN_WINDOW_MICROS ? (cpuMicros / wallMicros) * 100 : ((cpu.user + cpu.system) / (this.#clock.uptime() * 1e6)) * 100
    return this.#build(cpu, this.#lastPercent)
  }

  /** Fresh memory and CPU seconds, the last window's CPU percent; leaves the window alone (scrapes). */
  peek(): ProcessSample {
    const cpu = this.#clock.cpuUsage()
    return this.#lastPercent === undefined ? this.sample() : this.#build(cpu, this.#lastPercent)
  }

  #build(cpu: {user: number; system: number}, cpuPercent: number): ProcessSample {
    const mem = this.#clock.memoryUsage()
    this.#heapPeak = Math.max(this.#heapPeak, mem.heapUsed)
    return {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      heapLimitBytes: this.#clock.heapSizeLimit?.() ?? 0,
      heapPeakBytes: this.#heapPeak,
      cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
      cpuPercent,
      startTimeSeconds: this.#startTimeSeconds,
    }
  }
}
