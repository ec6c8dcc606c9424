/**
 * Which Store the broker runtime uses: the durable store under the data directory (the default of
 * `mqttctl start` and of the unit `tune`/`build` write), or the memory store with
 * `persistence.mode: "none"`. Also the store's figures for stats, whatever the store.
 */
import type {BrokerConfig} from '../../config/index.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import {DurableStore, type StoreFigures} from './durable.js'
import {MemoryStore} from './memory.js'
import type {Store} from './store.js'

export type {StoreFigures}

export function storeFor(config: Pick<BrokerConfig, 'persistence'>, dataDir: string, logger: Logger, clock?: Clock): Store {
  const p = config.persistence
  if (p.mode === 'none') return new MemoryStore()
  return new DurableStore({
    dir: dataDir,
    sync: p.sync,
    syncIntervalMs: p.syncInterval,
    compactBytes: p.compactMb * 1024 * 1024,
    subscriptionsIntervalMs: p.subscriptionsInterval * 1000,
    logger,
    clock,
  })
}

/** The durable store's figures, or the memory store's (sessions and retained only, nothing on disk). */
export function storeFigures(store: Store): StoreFigures {
  const withFigures = store as Store & {figures?: () => StoreFigures}
  if (typeof withFigures.figures === 'function') return withFigures.figures()
  let stored = 0
  let persistent = 0
  for (const s of store.sessions()) {
    if (s.expiryInterval === 0) continue
    persistent++
    stored += (s.queue?.length ?? 0) + (s.inflight?.size ?? 0)
  }
  return {
    kind: 'memory',
    bytesOnDisk: 0,
    persistentSessions: persistent,
    storedMessages: stored,
    retained: store.retainedCount,
    fsyncs: 0,
    fsyncP50Ms: 0,
    fsyncP99Ms: 0,
    batches: 0,
    degraded: false,
    degradedEpisodes: 0,
    compactions: 0,
  }
}
