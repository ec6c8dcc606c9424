/**
 * What a store reports about itself (stats, $SYS, Prometheus, `mqttctl status`): a leaf module, so the
 * statistics can name the type without importing the durable store (which imports them).
 */

export type SyncMode = 'always' | 'interval'

/** What stats, $SYS, Prometheus and `mqttctl status` show about the store. */
export interface StoreFigures {
  kind: 'memory' | 'durable'
  sync?: SyncMode
  /** Bytes of the store's files. */
  bytesOnDisk: number
  /** Sessions kept on disk (expiry > 0). */
  persistentSessions: number
  /** Messages queued or in flight in those sessions. */
  storedMessages: number
  retained: number
  fsyncs: number
  /** fdatasync latency over the last 1,024 calls, ms. */
  fsyncP50Ms: number
  fsyncP99Ms: number
  /** Batches written (each one write; one fsync in sync "always"). */
  batches: number
  degraded: boolean
  /** Degraded episodes since start. */
  degradedEpisodes: number
  compactions: number
}

/** What the journal counts (journal.ts), as figures() reads it. */
export interface JournalCounters {
  fsyncs: number
  latency: LatencyRing
  batches: number
  degraded: boolean
  episodes: number
  compactions: number
  bytesOnDisk(): number
}

/** The durable store's figures: the journal's counters plus what the store holds. */
export function durableFigures(j: JournalCounters, sync: SyncMode, held: {persistentSessions: number; storedMessages: number; retained: number}): StoreFigures {
  return {
    kind: 'durable',
    sync,
    bytesOnDisk: j.bytesOnDisk(),
    ...held,
    fsyncs: j.fsyncs,
    fsyncP50Ms: j.latency.percentile(0.5),
    fsyncP99Ms: j.latency.percentile(0.99),
    batches: j.batches,
    degraded: j.degraded,
    degradedEpisodes: j.episodes,
    compactions: j.compactions,
  }
}

/** fdatasync latencies: a ring of the last `size` calls, ms. */
export class LatencyRing {
  readonly #lat: Float64Array
  #n = 0

  constructor(size = 1024) {
    this.#lat = new Float64Array(size)
  }

  add(ms: number): void {
    this.#lat[this.#n++ % this.#lat.length] = ms
  }

  percentile(p: number): number {
    const n = Math.min(this.#n, this.#lat.length)
    if (n === 0) return 0
    const sorted = Array.from(this.#lat.subarray(0, n)).sort((a, b) => a - b)
    return sorted[Math.min(n - 1, Math.floor(p * n))]
  }
}
