/**
 * Time, injected: every deadline, expiry, will delay, keep-alive, statistic and rate limit in the
 * broker reads `clock.now()` and arms its timers through the clock, so tests run time forward by hand
 * (test/helpers/clock.ts ManualClock) instead of sleeping. Nothing in src/broker calls Date.now() or
 * arms a protocol timer directly; only systemClock below does.
 */

/** Opaque: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown

export interface Clock {
  /** Milliseconds since the epoch (Date.now() for the system clock). */
  now(): number
  /** Calls `fn` once, `ms` from now. A system timer does not keep the process alive (unref'd). */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}
