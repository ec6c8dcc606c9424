/**
 * Thresholds that make the dashboard highlight a figure (pure). Each warning names the figure and
 * the threshold it crossed.
 */
import {formatBytes, formatInt as int} from '../cli/render.js'
import {ASSUMED} from '../sizing/guide.js'
import type {Point} from './history.js'
import {clusterWarnings} from './cluster.js'

export const THRESHOLDS = {
  /** Live connections above this share of maxConnections: the headroom plan sizes nodes to (src/sizing). */
  connectionsRatio: ASSUMED.headroomWarnShare,
  /** Topic-match cache hit ratio below this (the guide: healthy > 90 %). */
  cacheHitRatio: 0.9,
  /** ...once this many lookups were made: a cold cache misses on every first topic. */
  cacheMinLookups: 1000,
  /** V8 heap in use above this share of its limit (runtime.maxOldSpaceMb): V8 collects harder and harder, then the process dies with "heap out of memory". */
  heapRatio: 0.85,
} as const

export interface Warning {
  figure: 'connections' | 'cache' | 'orphans' | 'dropped' | 'memory' | 'heap' | 'cluster'
  message: string
}

export interface WarningOptions {
  /** Memory the capacity plan expects for this many live connections, bytes (src/sizing). */
  plannedMemory?(liveConnections: number): number | undefined
  /**
   * V8 heap limit, bytes, for a broker that does not publish its own ($SYS/broker/mqttctl/process/heap/limit:
   * an mqttctl broker before 0.1.0's heap figures, or another broker): monitor --heap-limit.
   */
  heapLimitBytes?: number
}

const pct = (r: number) => `${(r * 100).toFixed(1)} %`

/** The heap limit to warn against: the broker's published one, else the option's (undefined: none known). */
export function heapLimitOf(figures: {heapLimitBytes?: number}, options: Pick<WarningOptions, 'heapLimitBytes'> = {}): number | undefined {
  const own = figures.heapLimitBytes
  return own !== undefined && own > 0 ? own : options.heapLimitBytes
}

export function warningsFor(points: readonly Point[], options: WarningOptions = {}): Warning[] {
  const cur = points.at(-1)?.snapshot.figures
  if (!cur) return []
  const prev = points.at(-2)?.snapshot.figures
  const out: Warning[] = []

  const live = cur.connectionsLive
  const max = cur.connectionsMax
  if (live !== undefined && max !== undefined && max > 0 && live / max > THRESHOLDS.connectionsRatio) {
    out.push({figure: 'connections', message: `connections at ${pct(live / max)} of the limit (${int(live)} / ${int(max)})`})
  }
  const ratio = cur.cacheHitRatio
  const lookups = cur.cacheHits !== undefined && cur.cacheMisses !== undefined ? cur.cacheHits + cur.cacheMisses : undefined
  const enough = lookups === undefined || lookups >= THRESHOLDS.cacheMinLookups
  if (ratio !== undefined && enough && ratio < THRESHOLDS.cacheHitRatio) {
    out.push({figure: 'cache', message: `cache hit ratio ${pct(ratio)} is below ${pct(THRESHOLDS.cacheHitRatio)}`})
  }
  const orphans = cur.sessionsOrphan
  if (orphans !== undefined && prev?.sessionsOrphan !== undefined && orphans > prev.sessionsOrphan) {
    out.push({figure: 'orphans', message: `orphan sessions rising: ${int(prev.sessionsOrphan)} -> ${int(orphans)}`})
  }
  const dropped = (cur.messagesDropped ?? 0) + (cur.messagesExpired ?? 0)
  const droppedBefore = prev ? (prev.messagesDropped ?? 0) + (prev.messagesExpired ?? 0) : undefined
  if (droppedBefore !== undefined && dropped > droppedBefore) {
    out.push({figure: 'dropped', message: `dropped messages rising: +${int(dropped - droppedBefore)} (total ${int(dropped)})`})
  }
  const rss = cur.rssBytes
  const planned = live !== undefined ? options.plannedMemory?.(live) : undefined
  if (rss !== undefined && planned !== undefined && rss > planned) {
    out.push({
      figure: 'memory',
      message: `memory ${formatBytes(rss)} above the plan's ${formatBytes(planned)} for ${int(live ?? 0)} connections`,
    })
  }
  const heap = cur.heapUsedBytes
  // The broker's own figure (V8's heap_size_limit) when it publishes one; else what the user gave.
  const limit = heapLimitOf(cur, options)
  if (heap !== undefined && limit !== undefined && limit > 0 && heap / limit > THRESHOLDS.heapRatio) {
    out.push({figure: 'heap', message: `V8 heap ${formatBytes(heap)} is ${pct(heap / limit)} of its ${formatBytes(limit)} limit: raise runtime.maxOldSpaceMb (mqttctl plan --write) before "heap out of memory"`})
  }
  for (const message of clusterWarnings(points.at(-1)?.snapshot.cluster, points.at(-2)?.snapshot.cluster)) out.push({figure: 'cluster', message})
  return out
}
