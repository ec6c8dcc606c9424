/**
 * What the monitor knows about a broker at one moment: the $SYS figures read back through the same
 * name table the broker publishes from (src/broker/stats/sys-topics.ts). Fields a broker doesn't
 * publish (Mosquitto has no mqttctl/... topics) are simply absent.
 */
import {LOAD_NAMES, LOAD_WINDOWS, type LoadName, type LoadWindow} from '../broker/stats/loads.js'
import type {StatsSnapshot} from '../broker/stats/snapshot.js'
import {loadTopic, SYS_PREFIX, SYS_TIMESTAMP_TOPIC, SYS_TOPICS} from '../broker/stats/sys-topics.js'
import {type ClusterView, clusterFromTopics} from './cluster.js'

export type Figure = Exclude<keyof StatsSnapshot, 'version' | 'time'>
export type Figures = Partial<Record<Figure, number>>
export type Loads = Partial<Record<LoadName, Partial<Record<LoadWindow, number>>>>

export interface MonitorSnapshot {
  /** When the broker took these figures (ms): its $SYS timestamp, else when we received them. */
  time: number
  version?: string
  figures: Figures
  loads: Loads
  /** A cluster node's $SYS/broker/mqttctl/cluster/... figures (./cluster.ts); absent for a single broker. */
  cluster?: ClusterView
}

const BY_TOPIC = new Map<string, Figure>(SYS_TOPICS.map((t) => [t.topic, t.key]))
const LOAD_BY_TOPIC = new Map<string, [LoadName, LoadWindow]>(
  LOAD_NAMES.flatMap((n) => LOAD_WINDOWS.map((w) => [loadTopic(n, w), [n, w]] as [string, [LoadName, LoadWindow]])),
)

/** The latest payload per $SYS topic, turned into a snapshot. */
export function snapshotFromTopics(topics: ReadonlyMap<string, string>, receivedAt: number): MonitorSnapshot {
  const figures: Figures = {}
  const loads: Loads = {}
  for (const [topic, payload] of topics) {
    const key = BY_TOPIC.get(topic)
    if (key !== undefined) {
      const n = Number.parseFloat(payload)
      if (Number.isFinite(n)) figures[key] = n
      continue
    }
    const load = LOAD_BY_TOPIC.get(topic)
    if (load) {
      const n = Number.parseFloat(payload)
      if (Number.isFinite(n)) (loads[load[0]] ??= {})[load[1]] = n
    }
  }
  const cluster = clusterFromTopics(topics)
  const stamp = Number(topics.get(SYS_TIMESTAMP_TOPIC))
  return {
    time: Number.isFinite(stamp) && stamp > 0 ? stamp : receivedAt,
    version: topics.get(SYS_PREFIX + 'version'),
    figures,
    loads,
    ...(cluster ? {cluster} : {}),
  }
}

/** A key that changes once per broker statistics tick (to tell a new tick from a replay). */
export function tickKey(topics: ReadonlyMap<string, string>): string | undefined {
  return topics.get(SYS_TIMESTAMP_TOPIC) ?? topics.get(SYS_PREFIX + 'uptime')
}
