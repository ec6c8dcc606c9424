/**
 * A Clock whose time moves only when the test says so (BrokerOptions.clock, Deadlines, reporters).
 *
 *   const clock = new ManualClock()
 *   const broker = await startBroker({}, {clock})
 *   clock.advance(90_000)            // fires every timer due in the next 90 s, in order
 */
import type {Clock, TimerHandle} from '../../src/broker/clock.js'

interface Timer {
  at: number
  seq: number
  fn: () => void
}

export class ManualClock implements Clock {
  #now: number
  #seq = 0
  readonly #timers = new Set<Timer>()

  /** Starts at `start` ms since the epoch (default: the real time now, so dates look sane in logs). */
  constructor(start = Date.now()) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = {at: this.#now + Math.max(0, ms), seq: this.#seq++, fn}
    this.#timers.add(timer)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as Timer)
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size
  }

  /**
   * Moves time forward by `ms`, firing every timer that comes due on the way in order of due time
   * (then of arming); `now()` reads each timer's due time while it runs. A timer armed by a timer
   * fires in the same call when it comes due within the window.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`ManualClock.advance: ${ms} is not a duration >= 0`)
    const end = this.#now + ms
    for (;;) {
      let next: Timer | undefined
      for (const t of this.#timers) if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t
      if (next === undefined) break
      this.#timers.delete(next)
      if (next.at > this.#now) this.#now = next.at
      next.fn()
    }
    this.#now = end
  }
}
