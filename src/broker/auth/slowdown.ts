/**
 * Failed-login slowing per source address. After f failed logins from an address, its next login
 * attempts are answered one at a time, each DELAY(f) = min(base * 2^(f-1), max) after the previous
 * one, so parallel connections gain nothing: at the defaults 10 wrong guesses cost about 50 s, 100 about
 * a quarter of an hour.
 * An address is forgotten `forgetMs` after its last failure. The table is bounded: when full, the
 * address seen least recently goes. Attempts waiting per address are bounded too; beyond that they
 * are refused at once (server busy) without checking the password.
 */
import type {Clock} from '../clock.js'

export interface SlowdownOptions {
  /** Delay after the first failure, ms (default 200). */
  baseMs: number
  /** Largest delay between two attempts, ms (default 10 s). */
  maxMs: number
  /** Forget an address this long after its last failure, ms (default 15 min). */
  forgetMs: number
  /** Addresses remembered (default 10,000). */
  maxAddresses: number
  /** Attempts that may wait per address (default 32). */
  maxWaiting: number
}

export const DEFAULT_SLOWDOWN: SlowdownOptions = {baseMs: 200, maxMs: 10_000, forgetMs: 15 * 60_000, maxAddresses: 10_000, maxWaiting: 32}

interface Entry {
  failures: number
  lastFailure: number
  /** When the next attempt may be answered. */
  nextAt: number
  waiting: number
}

export type Admission = {wait: 0} | {wait: number; release: () => void} | 'busy'

export class Slowdown {
  readonly #entries = new Map<string, Entry>()
  readonly options: SlowdownOptions

  constructor(
    readonly clock: Clock,
    options: Partial<SlowdownOptions> = {},
  ) {
    this.options = {...DEFAULT_SLOWDOWN, ...options}
  }

  get size(): number {
    return this.#entries.size
  }

  delayFor(failures: number): number {
    if (failures <= 0) return 0
    return Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures - 1, 30))
  }

  #entry(address: string): Entry | undefined {
    const e = this.#entries.get(address)
    if (e && e.waiting === 0 && this.clock.now() - e.lastFailure > this.options.forgetMs) {
      this.#entries.delete(address)
      return undefined
    }
    return e
  }

  /** Before checking a password from `address`: how long to wait (the caller holds the slot until release()). */
  admit(address: string): Admission {
    const e = this.#entry(address)
    if (e === undefined || e.failures === 0) return {wait: 0}
    if (e.waiting >= this.options.maxWaiting) return 'busy'
    const now = this.clock.now()
    const slot = Math.max(now, e.nextAt)
    e.nextAt = slot + this.delayFor(e.failures)
    e.waiting++
    let released = false
    return {
      wait: slot - now,
      release: () => {
        if (released) return
        released = true
        e.waiting--
      },
    }
  }

  /** A failed login from `address`. */
  failed(address: string): number {
    const now = this.clock.now()
    let e = this.#entry(address)
    if (e === undefined) {
      if (this.#entries.size >= this.options.maxAddresses) this.#entries.delete(this.#entries.keys().next().value!)
      e = {failures: 0, lastFailure: now, nextAt: now, waiting: 0}
    } else this.#entries.delete(address) // re-inserted last: most recently seen
    this.#entries.set(address, e)
    e.failures++
    e.lastFailure = now
    e.nextAt = Math.max(e.nextAt, now + this.delayFor(e.failures))
    return e.failures
  }

  failures(address: string): number {
    return this.#entry(address)?.failures ?? 0
  }
}

/** "1.2.3.4:5678" / "[::1]:5678" / "::ffff:1.2.3.4:5678" -> the address without the port. */
export function hostOf(remote: string): string {
  if (remote.startsWith('[')) return remote.slice(1, remote.indexOf(']'))
  const colon = remote.lastIndexOf(':')
  if (colon < 0) return remote
  const host = remote.slice(0, colon)
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host
}
