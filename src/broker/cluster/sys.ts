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
 * QoS 0, only the ones that changed), and logs one line when the link is down.
 */
import type {Clock, TimerHandle} from '../clock.js'
import type {Logger} from '../log.js'
import type {BrokerStats} from '../stats/counters.js'
import type {ClusterNode, NodeFigures} from './node.js'

export const CLUSTER_SYS_PREFIX = '$SYS/broker/mqttctl/cluster/'

export interface SysPublisher {
  publish(topic: string, payload: string, options: {qos: 0; retain: true}): void
}

export function clusterSysMessages(node: ClusterNode, stats: BrokerStats, now: number, intervalMs: number): Array<[string, string]> {
  const s = node.stats
  const moves = node.sessionStats
  const own: NodeFigures = {name: node.name, clients: stats.connectionsLive, received: stats.messagesReceived, sent: stats.messagesSent, subscriptions: stats.subscriptions, exported: s.exported, imported: s.imported}
  const live = [own]
  for (const [id, p] of node.peers) {
    if (now - p.at > 3 * intervalMs) node.peers.delete(id)
    else live.push(p.figures)
  }
  const sum = (k: 'clients' | 'received' | 'sent' | 'subscriptions') => String(live.reduce((n, f) => n + f[k], 0))
  return [
    ['node', node.name],
    ['connected', s.connected ? '1' : '0'],
    ['disconnects', String(s.disconnects)],
    ['exported', String(s.exported)],
    ['imported', String(s.imported + s.importedShared)],
    ['local-only', String(s.localOnly)],
    ['not-wanted', String(s.notWanted)],
    ['unmapped', String(s.unmapped)],
    ['durable/stored', String(s.durableOut)],
    ['durable/refused', String(s.durableErrors)],
    ['durable/dropped', String(s.durableDropped)],
    ['durable/delivered', String(s.durableIn)],
    ['durable/duplicates', String(s.durableDuplicates)],
    ['sessions/moved-away', String(moves.moved)],
    ['sessions/moved-here', String(moves.adopted)],
    ['nodes', String(live.length)],
    ['total/clients/connected', sum('clients')],
    ['total/publish/messages/received', sum('received')],
    ['total/publish/messages/sent', sum('sent')],
    ['total/subscriptions/count', sum('subscriptions')],
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
