/**
 * Whole-broker memory ceiling (limits.maxMemory): the resident set size is sampled every
 * SAMPLE_MS on the broker's clock (one unref'd timer, not on the hot path, which reads a boolean).
 * At or above the ceiling the broker is overloaded: it refuses new connections and new QoS 1/2
 * work with 0x97 and sheds QoS 0 towards clients with anything unsent. Below RECOVER x ceiling it
 * recovers by itself. Each episode is logged once when it starts and once when it ends.
 */
import type {Clock, TimerHandle} from '../clock.js'
import type {Logger} from '../log.js'

export const SAMPLE_MS = 1000
/** Leave overload below this fraction of the ceiling (hysteresis: no flapping at the edge). */
export const RECOVER = 0.9

export class Overload {
  /** True while memory is at or above the ceiling. */
  active = false
  /** Episodes so far (counter). */
  episodes = 0
  #timer: TimerHandle | undefined
  #since = 0
  readonly #tick = (): void => this.#sample()

  constructor(
    readonly maxMemory: number,
    readonly clock: Clock,
    readonly logger: Logger,
    /** Resident memory in bytes; replaceable (tests inject a probe instead of real memory pressure). */
    public rss: () => number = () => process.memoryUsage.rss(),
    /** Called when an episode starts or ends (statistics). */
    readonly onChange: (active: boolean, episodes: number) => void = () => {},
  ) {}

  start(): void {
    if (this.maxMemory <= 0 || this.#timer !== undefined) return
    this.#timer = this.clock.setTimeout(this.#tick, SAMPLE_MS)
  }

  stop(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Samples now (the timer calls this; tests may too). */
  sample(): void {
    const rss = this.rss()
    if (!this.active && rss >= this.maxMemory) {
      this.active = true
      this.episodes++
      this.#since = this.clock.now()
      this.onChange(true, this.episodes)
      this.logger.warn(`Memory ${mb(rss)} reached limits.maxMemory ${mb(this.maxMemory)}: refusing new connections and QoS 1/2 (0x97), shedding QoS 0 to slow consumers`)
    } else if (this.active && rss < this.maxMemory * RECOVER) {
      this.active = false
      this.onChange(false, this.episodes)
      this.logger.warn(`Memory ${mb(rss)} back under ${Math.round(RECOVER * 100)} % of limits.maxMemory after ${Math.round((this.clock.now() - this.#since) / 1000)} s: accepting again`)
    }
  }

  #sample(): void {
    this.#timer = undefined
    this.sample()
    this.#timer = this.clock.setTimeout(this.#tick, SAMPLE_MS)
  }
}

function mb(n: number): string {
  return `${Math.round(n / 1048576)} MB`
}
