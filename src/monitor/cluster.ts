/**
 * monitor's view of a cluster node: the `$SYS/broker/mqttctl/cluster/...` topics a node publishes
 * (src/broker/cluster/sys.ts, docs/scale-out.md "Watching a cluster"), read back and checked (they come
 * from the network: a name of at most 64 safe characters, counts that are whole non-negative numbers),
 * as this node's figures, its NATS link and the cluster's totals; the dashboard's lines and warnings.
 * A broker without a cluster publishes none of these: no view, nothing shown.
 */
import type {ChalkInstance} from 'chalk'
import {formatInt} from '../cli/render.js'
import {CLUSTER_SYS_PREFIX} from '../broker/cluster/sys.js'

export interface ClusterView {
  /** This node's name (cluster.nodeName). */
  node: string
  /** Linked to NATS right now (null: not published). */
  connected: boolean | null
  disconnects: number | null
  /** Messages handed to / received from NATS. */
  exported: number | null
  imported: number | null
  localOnly: number | null
  notWanted: number | null
  unmapped: number | null
  /** QoS 1/2 copies for persistent sessions on other nodes (JetStream). */
  durable: {stored: number | null; refused: number | null; dropped: number | null; delivered: number | null; duplicates: number | null}
  sessions: {movedAway: number | null; movedHere: number | null}
  /** Nodes heard from in the last three intervals, this one included. */
  nodes: number | null
  /** Sums over those nodes. */
  total: {clients: number | null; received: number | null; sent: number | null; subscriptions: number | null}
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/

/** Reads the cluster topics of one node; null when it publishes none (or no valid node name). */
export function clusterFromTopics(topics: ReadonlyMap<string, string>): ClusterView | null {
  const get = (t: string) => topics.get(CLUSTER_SYS_PREFIX + t)
  const node = get('node')
  if (node === undefined || !NAME.test(node)) return null
  const count = (t: string): number | null => {
    const v = get(t)
    if (v === undefined || !/^\d{1,16}$/.test(v)) return null
    return Number(v)
  }
  const link = get('connected')
  return {
    node,
    connected: link === '1' ? true : link === '0' ? false : null,
    disconnects: count('disconnects'),
    exported: count('exported'),
    imported: count('imported'),
    localOnly: count('local-only'),
    notWanted: count('not-wanted'),
    unmapped: count('unmapped'),
    durable: {stored: count('durable/stored'), refused: count('durable/refused'), dropped: count('durable/dropped'), delivered: count('durable/delivered'), duplicates: count('durable/duplicates')},
    sessions: {movedAway: count('sessions/moved-away'), movedHere: count('sessions/moved-here')},
    nodes: count('nodes'),
    total: {clients: count('total/clients/connected'), received: count('total/publish/messages/received'), sent: count('total/publish/messages/sent'), subscriptions: count('total/subscriptions/count')},
  }
}

/** Per-second rate of a counter between two views (null when either lacks it, or it went back: a restart). */
export function clusterRate(cur: number | null, prev: number | null | undefined, seconds: number): number | null {
  if (cur === null || prev === null || prev === undefined || seconds <= 0 || cur < prev) return null
  return (cur - prev) / seconds
}

/** Warnings about the cluster: the NATS link down, copies for persistent sessions refused or dropped since the previous update. */
export function clusterWarnings(cur: ClusterView | undefined | null, prev: ClusterView | undefined | null): string[] {
  if (!cur) return []
  const out: string[] = []
  if (cur.connected === false) out.push(`cluster: node ${cur.node} has no NATS link: it serves its own clients only (messages for other nodes are not sent; ${formatInt(cur.localOnly ?? 0)} kept here so far)`)
  const rise = (a: number | null, b: number | null | undefined) => (a !== null && b !== null && b !== undefined && a > b ? a - b : 0)
  const refused = rise(cur.durable.refused, prev?.durable.refused)
  if (refused > 0) out.push(`cluster: JetStream refused ${formatInt(refused)} QoS 1/2 copies for persistent sessions on other nodes (their publishers were refused too): check doctor's NATS findings`)
  const dropped = rise(cur.durable.dropped, prev?.durable.dropped)
  if (dropped > 0) out.push(`cluster: ${formatInt(dropped)} copies for persistent sessions on other nodes dropped: their JetStream stream is full (a node down for long?)`)
  return out
}

const n = (v: number | null) => (v === null ? 'n/a' : formatInt(v))
const rate = (v: number | null) => (v === null ? 'n/a' : `${v < 100 ? v.toFixed(1) : formatInt(v)}/s`)

/** The dashboard's Cluster lines (label column `label` wide), or none without a cluster. */
export function clusterLines(cur: ClusterView | undefined | null, prev: ClusterView | undefined | null, seconds: number, c: ChalkInstance, labelWidth: number): string[] {
  if (!cur) return []
  const cont = ' '.repeat(labelWidth)
  const link = cur.connected === null ? 'n/a' : cur.connected ? c.green('up') : c.red.bold('DOWN')
  const r = (k: 'exported' | 'imported') => rate(clusterRate(cur[k], prev?.[k], seconds))
  const d = cur.durable
  return [
    `${c.bold('Cluster'.padEnd(labelWidth))}node ${cur.node} · NATS link ${link} · ${n(cur.nodes)} node${cur.nodes === 1 ? '' : 's'} · disconnects ${n(cur.disconnects)}`,
    `${cont}to NATS ${n(cur.exported)} (${r('exported')})   from NATS ${n(cur.imported)} (${r('imported')})   local-only ${n(cur.localOnly)}`,
    `${cont}all nodes: clients ${n(cur.total.clients)}   subscriptions ${n(cur.total.subscriptions)}   msgs in ${n(cur.total.received)} out ${n(cur.total.sent)}`,
    `${cont}JetStream stored ${n(d.stored)} refused ${n(d.refused)} dropped ${n(d.dropped)} · sessions out ${n(cur.sessions.movedAway)} in ${n(cur.sessions.movedHere)}`,
  ]
}
