/**
 * Mosquitto's `$SYS/broker/load/...` figures: per-minute rates smoothed with exponentially-weighted
 * moving averages over 1, 5 and 15 minutes, updated on the statistics tick (as sys_tree.c's
 * calc_load: value = rate + e^(-dt / window) * (previous - rate)).
 */

export const LOAD_WINDOWS = ['1min', '5min', '15min'] as const
export type LoadWindow = (typeof LOAD_WINDOWS)[number]
const WINDOW_SECONDS: Record<LoadWindow, number> = {'1min': 60, '5min': 300, '15min': 900}

/** Counter names, as Mosquitto's topic path under $SYS/broker/load/. */
export const LOAD_NAMES = [
  'messages/received',
  'messages/sent',
  'publish/received',
  'publish/sent',
  'publish/dropped',
  'bytes/received',
  'bytes/sent',
  'connections',
] as const
export type LoadName = (typeof LOAD_NAMES)[number]

export type LoadValues = Record<LoadName, Record<LoadWindow, number>>
export type LoadCounters = Record<LoadName, number>

export class LoadAverages {
  #last: LoadCounters | undefined
  #lastTime = 0
  readonly values: LoadValues

  constructor() {
    this.values = Object.fromEntries(
      LOAD_NAMES.map((n) => [n, {'1min': 0, '5min': 0, '15min': 0}]),
    ) as LoadValues
  }

  /** Feeds the counters' current totals at time `now` (ms). The first call only sets the baseline. */
  update(counters: LoadCounters, now: number): LoadValues {
    const last = this.#last
    const dt = (now - this.#lastTime) / 1000
    if (last !== undefined && dt > 0) {
      for (const name of LOAD_NAMES) {
        const perMinute = (Math.max(0, counters[name] - last[name]) * 60) / dt
        for (const w of LOAD_WINDOWS) {
          const decay = Math.exp(-dt / WINDOW_SECONDS[w])
          this.values[name][w] = perMinute + decay * (this.values[name][w] - perMinute)
        }
      }
    }
    if (last === undefined || dt > 0) {
      this.#last = {...counters}
      this.#lastTime = now
    }
    return this.values
  }
}
