/**
 * Process figures sampled on the statistics tick: resident memory, V8 heap and CPU. CPU is the
 * `process.cpuUsage()` delta over the wall-clock time between two samples (100 % = one core busy).
 * A window shorter than MIN_WINDOW_MICROS (the sample taken right at start, or two ticks in a row)
 * is too short to mean anything: then the average since the process started is reported instead.
 */

const MIN_WINDOW_MICROS = 1_000_000

export interface ProcessSample {
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /** Largest heapUsedBytes seen by this sampler (Mosquitto's heap/maximum). */
  heapPeakBytes: number
  /** User + system CPU time since the process started, seconds. */
  cpuSecondsTotal: number
  /** CPU used between the previous sample and this one, percent of one core. */
  cpuPercent: number
  /** Unix time the process started, seconds. */
  startTimeSeconds: number
}

export class ProcessSampler {
  #lastCpu = process.cpuUsage()
  #lastWall = performance.now()
  #heapPeak = 0
  readonly #startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000) / 1000)

  sample(): ProcessSample {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    const wall = performance.now()
    const cpuMicros = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system)
    const wallMicros = (wall - this.#lastWall) * 1000
    this.#lastCpu = cpu
    this.#lastWall = wall
    this.#heapPeak = Math.max(this.#heapPeak, mem.heapUsed)
    return {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      heapPeakBytes: this.#heapPeak,
      cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
      cpuPercent:
        wallMicros >= MIN_WINDOW_MICROS
          ? (cpuMicros / wallMicros) * 100
          : ((cpu.user + cpu.system) / (process.uptime() * 1e6)) * 100,
      startTimeSeconds: this.#startTimeSeconds,
    }
  }
}
