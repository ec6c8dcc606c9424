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
