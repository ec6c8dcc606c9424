/**
 * Per-source-address connection rate limit (EMQX calls its version flapping detection): a token
 * bucket per address holding `rate` tokens, refilled at `rate` per second on the injected clock. A
 * CONNECT from an address with no token left is refused (MQTT 5 CONNACK 0x9F connection rate
 * exceeded, 3.1.1 return code 3). The table is bounded: past `maxAddresses` the least recently
 * seen address is forgotten (it starts again with a full bucket, which errs towards letting in).
 */
import type {Clock} from '../clock.js'

interface Bucket {
  tokens: number
  at: number
}

export class ConnectRateLimit {
  readonly #buckets = new Map<string, Bucket>()
  readonly #rate: number
  readonly #max: number
  readonly #clock: Clock

  /** rate: connections per second per address (0 = no limit). */
  constructor(rate: number, clock: Clock, maxAddresses = 100_000) {
    this.#rate = rate
    this.#clock = clock
    this.#max = maxAddresses
  }

  get enabled(): boolean {
    return this.#rate > 0
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Takes a token for `address`; false when it has none (refuse the connection). */
  take(address: string): boolean {
    if (this.#rate <= 0) return true
    const now = this.#clock.now()
    let b = this.#buckets.get(address)
    if (b === undefined) {
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!)
      b = {tokens: this.#rate, at: now}
    } else {
      this.#buckets.delete(address) // re-inserted below: Map order is least recently seen first
      b.tokens = Math.min(this.#rate, b.tokens + ((now - b.at) / 1000) * this.#rate)
      b.at = now
    }
    this.#buckets.set(address, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}
