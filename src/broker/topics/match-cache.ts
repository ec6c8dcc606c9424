/**
 * Bounded topic -> MatchResult cache in front of the trie (nats-server's sublist cache, with a
 * fixed bound instead of a random sweep). Eviction is oldest-first in batches, so a full cache costs
 * one Map iterator per `batch` inserts rather than per insert. Hits and misses are counted by the
 * caller (SubscriptionIndex) into BrokerStats.
 *
 * Invalidation on (un)subscribe of filter F:
 *  - F has no wildcard: it matches exactly one topic name, F itself, so only that entry goes.
 *  - F has a wildcard: the cached topics F matches go (an in-place string match per entry), unless
 *    the cache holds more than `scanLimit` entries, where clearing is cheaper than scanning.
 */
import {topicMatchesFilter} from '../protocol/topics.js'
import type {MatchResult} from './types.js'

/**
 * Scanning costs roughly 60-130 ns per cached topic (bench/micro/topics.ts), so 1,024 entries keep a
 * wildcard (un)subscribe under ~0.15 ms; past that, dropping the cache and re-filling it on demand is
 * cheaper than stalling the event loop (a miss on a literal topic is a trie walk to a memoized result).
 */
export const DEFAULT_SCAN_LIMIT = 1024

export interface MatchCacheOptions {
  /** Max cached topics; 0 disables the cache. */
  maxEntries: number
  /** Above this many entries a wildcard (un)subscribe clears the cache instead of scanning it. */
  scanLimit?: number
  /** Estimated bytes (entryBytes) the cache may hold; past it the oldest entries go. Default: no bound. */
  maxBytes?: number
}

/**
 * Estimated bytes of one entry: the topic string (2 bytes a character, V8 may use 1), the Map entry,
 * and the result's arrays (8 bytes a reference; a result is shared, so this over-counts, safely).
 */
export function entryBytes(topic: string, result: MatchResult): number {
  return 2 * topic.length + 80 + 8 * (result.clients.length + result.shared.length)
}

export class MatchCache {
  readonly #map = new Map<string, MatchResult>()
  readonly #max: number
  readonly #batch: number
  readonly #scanLimit: number
  readonly #maxBytes: number
  #bytes = 0
  /** Entries dropped by invalidation, and whole-cache clears (for the benchmark and tests). */
  invalidated = 0
  clears = 0

  constructor(opts: MatchCacheOptions) {
    this.#max = Math.max(0, Math.floor(opts.maxEntries))
    this.#batch = Math.max(1, Math.floor(this.#max / 64))
    this.#scanLimit = opts.scanLimit ?? DEFAULT_SCAN_LIMIT
    this.#maxBytes = opts.maxBytes ?? Infinity
  }

  /** Estimated bytes held (entryBytes of every entry). */
  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    return this.#map.size
  }

  get(topic: string): MatchResult | undefined {
    return this.#map.get(topic)
  }

  set(topic: string, result: MatchResult): void {
    if (this.#max === 0) return
    const map = this.#map
    const cost = entryBytes(topic, result)
    if (cost > this.#maxBytes) return
    if (map.size >= this.#max) {
      let n = this.#batch
      for (const [key, r] of map) {
        map.delete(key)
        this.#bytes -= entryBytes(key, r)
        if (--n === 0) break
      }
    }
    while (this.#bytes + cost > this.#maxBytes && map.size > 0) {
      const [key, r] = map.entries().next().value!
      map.delete(key)
      this.#bytes -= entryBytes(key, r)
    }
    const old = map.get(topic)
    if (old !== undefined) this.#bytes -= entryBytes(topic, old)
    map.set(topic, result)
    this.#bytes += cost
  }

  /** Drops every entry the (non-shared part of the) filter can match. */
  invalidate(filter: string): void {
    const map = this.#map
    if (map.size === 0) return
    if (!hasWildcard(filter)) {
      const r = map.get(filter)
      if (r !== undefined) {
        map.delete(filter)
        this.#bytes -= entryBytes(filter, r)
        this.invalidated++
      }
      return
    }
    if (map.size > this.#scanLimit) {
      this.invalidated += map.size
      this.clears++
      map.clear()
      this.#bytes = 0
      return
    }
    for (const [topic, r] of map) {
      if (topicMatchesFilter(filter, topic)) {
        map.delete(topic)
        this.#bytes -= entryBytes(topic, r)
        this.invalidated++
      }
    }
  }
}

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#')
}
