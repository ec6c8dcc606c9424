/**
 * $SYS of a cluster node, beside the broker's own $SYS/broker/... (which stays per node):
 *
 *   $SYS/broker/mqttctl/cluster/node                   this node's name
 *   $SYS/broker/mqttctl/cluster/connected              1 while linked through NATS, else 0
 *   $SYS/broker/mqttctl/cluster/disconnects            link losses since start
 *   $SYS/broker/mqttctl/cluster/exported               messages handed to NATS
 *   $SYS/broker/mqttctl/cluster/imported               messages from other nodes delivered here
 *   $SYS/broker/mqttctl/cluster/local-only             messages kept here while the link was down
 *   $SYS/broker/mqttctl/cluster/not-wanted             messages no other node subscribed to (not sent to NATS)
 *   $SYS/broker/mqttctl/cluster/unmapped               topics/filters/payloads too large for NATS
 *   $SYS/broker/mqttctl/cluster/sessions/moved-away    sessions handed to other nodes
 *   $SYS/broker/mqttctl/cluster/sessions/moved-here    sessions taken from other nodes
 *   $SYS/broker/mqttctl/cluster/nodes                  nodes heard from in the last 3 intervals, this one included
 *   $SYS/broker/mqttctl/cluster/total/clients/connected, .../total/publish/messages/received,
 *   .../total/publish/messages/sent, .../total/subscriptions/count: sums over those nodes
 *
 * Every statistics interval the node shares its figures through NATS and publishes these (retained,
 * QoS 0, only the ones that changed), and logs one line when the link is down. The same figures
 * (clusterFigures) are Prometheus metrics: stats/prometheus.ts clusterMetrics.
 */
import type {Clock, TimerHandle} from '../clock.js'
import type {Logger} from '../log.js'
import type {BrokerStats} from '../stats/counters.js'
import type {ClusterFigures} from './figures.js'
import type {ClusterNode, NodeFigures} from './node.js'

export const CLUSTER_SYS_PREFIX = '$SYS/broker/mqttctl/cluster/'

export interface SysPublisher {
  publish(topic: string, payload: string, options: {qos: 0; retain: true}): void
}

/** This node's cluster figures now; forgets peers not heard from in three intervals. */
export function clusterFigures(node: ClusterNode, stats: BrokerStats, now: number, intervalMs: number): ClusterFigures {
  const s = node.stats
  const moves = node.sessionStats
  const own: NodeFigures = {name: node.name, clients: stats.connectionsLive, received: stats.messagesReceived, sent: stats.messagesSent, subscriptions: stats.subscriptions, exported: s.exported, imported: s.imported}
  const live = [own]
  for (const [id, p] of node.peers) {
    if (now - p.at > 3 * intervalMs) node.peers.delete(id)
    else live.push(p.figures)
  }
  const sum = (k: 'clients' | 'received' | 'sent' | 'subscriptions') => live.reduce((n, f) => n + f[k], 0)
  return {
    node: node.name,
    connected: s.connected,
    disconnects: s.disconnects,
    exported: s.exported,
    imported: s.imported + s.importedShared,
    localOnly: s.localOnly,
    notWanted: s.notWanted,
    unmapped: s.unmapped,
    durableStored: s.durableOut,
    durableRefused: s.durableErrors,
    durableDropped: s.durableDropped,
    durableDelivered: s.durableIn,
    durableDuplicates: s.durableDuplicates,
    sessionsMovedAway: moves.moved,
    sessionsMovedHere: moves.adopted,
    nodes: live.length,
    total: {clients: sum('clients'), received: sum('received'), sent: sum('sent'), subscriptions: sum('subscriptions')},
  }
}

export function clusterSysMessages(node: ClusterNode, stats: BrokerStats, now: number, intervalMs: number): Array<[string, string]> {
  const f = clusterFigures(node, stats, now, intervalMs)
  return [
    ['node', f.node],
    ['connected', f.connected ? '1' : '0'],
    ['disconnects', String(f.disconnects)],
    ['exported', String(f.exported)],
    ['imported', String(f.imported)],
    ['local-only', String(f.localOnly)],
    ['not-wanted', String(f.notWanted)],
    ['unmapped', String(f.unmapped)],
    ['durable/stored', String(f.durableStored)],
    ['durable/refused', String(f.durableRefused)],
    ['durable/dropped', String(f.durableDropped)],
    ['durable/delivered', String(f.durableDelivered)],
    ['durable/duplicates', String(f.durableDuplicates)],
    ['sessions/moved-away', String(f.sessionsMovedAway)],
    ['sessions/moved-here', String(f.sessionsMovedHere)],
    ['nodes', String(f.nodes)],
    ['total/clients/connected', String(f.total.clients)],
    ['total/publish/messages/received', String(f.total.received)],
    ['total/publish/messages/sent', String(f.total.sent)],
    ['total/subscriptions/count', String(f.total.subscriptions)],
  ].map(([k, v]) => [CLUSTER_SYS_PREFIX + k, v] as [string, string])
}

/** Starts the per-interval tick; returns stop(). */
export function startClusterSys(deps: {node: ClusterNode; stats: BrokerStats; clock: Clock; logger: Logger; broker: SysPublisher; intervalSeconds: number}): () => void {
  const {node, stats, clock, logger, broker} = deps
  const intervalMs = deps.intervalSeconds * 1000
  const last = new Map<string, string>()
  let timer: TimerHandle | undefined
  let stopped = false
  const tick = (): void => {
    if (stopped) return
    try {
      const now = clock.now()
      const messages = clusterSysMessages(node, stats, now, intervalMs)
      node.shareFigures({name: node.name, clients: stats.connectionsLive, received: stats.messagesReceived, sent: stats.messagesSent, subscriptions: stats.subscriptions, exported: node.stats.exported, imported: node.stats.imported})
      for (const [topic, payload] of messages) {
        if (last.get(topic) === payload) continue
        last.set(topic, payload)
        broker.publish(topic, payload, {qos: 0, retain: true})
      }
      if (!node.connected) logger.warn(`cluster: node ${node.name} is not linked through NATS: serving local clients only (${node.stats.localOnly} messages kept local so far)`)
    } catch (error) {
      logger.error(`cluster: internal error in the statistics tick: ${(error as Error)?.stack ?? error}`)
    }
    timer = clock.setTimeout(tick, intervalMs)
  }
  timer = clock.setTimeout(tick, Math.min(intervalMs, 1000))
  return () => {
    stopped = true
    if (timer !== undefined) clock.clearTimeout(timer)
  }
}
