/** Linux /proc readings of another process (a broker under test): CPU time and resident memory. */
import {readFileSync} from 'node:fs'

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const HZ = 100

/** User + system CPU time of `pid` in milliseconds, or null when it can't be read. */
export function cpuMillis(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ
  } catch {
    return null
  }
}

/** Resident set size of `pid` in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Measures a process's CPU share between start() and stop(). */
export class CpuSampler {
  #cpu0: number | null = null
  #t0 = 0

  constructor(readonly pid: number) {}

  start(): void {
    this.#cpu0 = cpuMillis(this.pid)
    this.#t0 = performance.now()
  }

  /** CPU percent of one core since start(), or null. */
  stop(): number | null {
    const cpu1 = cpuMillis(this.pid)
    if (this.#cpu0 === null || cpu1 === null) return null
    const wall = performance.now() - this.#t0
    return wall > 0 ? Math.round(((cpu1 - this.#cpu0) / wall) * 10_000) / 100 : null
  }
}
