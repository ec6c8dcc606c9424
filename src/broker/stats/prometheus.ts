/**
 * Statistics as Prometheus text exposition format 0.0.4 (pure: snapshot in, text out).
 * Conventional names: `mqtt_broker_*` for the broker, `process_*` as the official client libraries
 * name them, counters ending in `_total`, units in the name (`_bytes`, `_seconds`).
 */
import type {ClusterFigures} from '../cluster/figures.js'
import type {StatsSnapshot} from './snapshot.js'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

type Type = 'counter' | 'gauge'
interface Sample {
  labels?: Record<string, string>
  value: number
}
export interface Metric {
  name: string
  type: Type
  help: string
  samples: Sample[]
}

const m = (name: string, type: Type, help: string, value: number | Sample[]): Metric => ({
  name,
  type,
  help,
  samples: typeof value === 'number' ? [{value}] : value,
})

/** One sample per label value: by('qos', {0: a, 1: b}) -> [{labels: {qos: '0'}, value: a}, ...]. */
const by = (label: string, values: Record<string, number>): Sample[] => Object.entries(values).map(([v, value]) => ({labels: {[label]: v}, value}))
const byQos = (q0: number, q1: number, q2: number): Sample[] => by('qos', {0: q0, 1: q1, 2: q2})

/** The metric families, in exposition order. */
export function prometheusMetrics(s: StatsSnapshot): Metric[] {
  return [
    m('mqtt_broker_info', 'gauge', 'Broker version, value 1.', [{labels: {version: s.version}, value: 1}]),
    m('mqtt_broker_uptime_seconds', 'gauge', 'Seconds since the broker started.', s.uptimeSeconds),
    m('mqtt_broker_connections', 'gauge', 'Live (connected) MQTT clients.', s.connectionsLive),
    m('mqtt_broker_connections_max', 'gauge', 'Configured connection limit (maxConnections).', s.connectionsMax),
    m('mqtt_broker_connections_peak', 'gauge', 'Most clients connected at one time since start.', s.connectionsPeak),
    m('mqtt_broker_connections_total', 'counter', 'Successful CONNECTs since start.', s.connectionsTotal),
    m('mqtt_broker_connections_refused_total', 'counter', 'Connections refused because the limit was reached.', s.connectionsRefused),
    m('mqtt_broker_protocol_errors_total', 'counter', 'Connections closed for a malformed packet or a protocol error.', s.protocolErrors),
    m('mqtt_broker_internal_errors_total', 'counter', 'Faults while serving one client (that client closed with 0x80/0x83).', s.internalErrors),
    m('mqtt_broker_limits_reached_total', 'counter', 'Requests refused at a configured limit (subscriptions, sessions, retained, aliases, memory).', s.limitsReached),
    m('mqtt_broker_connections_rate_limited_total', 'counter', 'CONNECTs refused by the per-address connection rate limit.', s.connectionsRateLimited),
    m('mqtt_broker_pending_connects', 'gauge', 'Sockets that have not sent CONNECT yet.', s.pendingConnects),
    m('mqtt_broker_overload_episodes_total', 'counter', 'Times resident memory reached limits.maxMemory.', s.overloadEpisodes),
    m('mqtt_broker_overloaded', 'gauge', '1 while resident memory is above limits.maxMemory, else 0.', s.overloaded),
    m('mqtt_broker_auth_failures_total', 'counter', 'CONNECTs refused by authentication (bad credentials, anonymous, take-over by another user).', s.authFailures),
    m('mqtt_broker_auth_delayed_total', 'counter', 'Login attempts held back by failed-login slowing per source address.', s.loginsDelayed),
    m('mqtt_broker_acl_denied_total', 'counter', 'Operations the ACL refused, by operation.', by('operation', {publish: s.publishDenied, subscribe: s.subscribeDenied, deliver: s.deliveriesDenied})),
    m('mqtt_broker_sessions', 'gauge', 'Sessions known (connected and orphan).', s.sessionsTotal),
    m('mqtt_broker_sessions_orphan', 'gauge', 'Sessions with no live connection (orphan clients).', s.sessionsOrphan),
    m('mqtt_broker_messages_received_total', 'counter', 'PUBLISH messages received, by QoS.', byQos(s.receivedQos0, s.receivedQos1, s.receivedQos2)),
    m('mqtt_broker_messages_sent_total', 'counter', 'PUBLISH messages sent, by QoS.', byQos(s.sentQos0, s.sentQos1, s.sentQos2)),
    m('mqtt_broker_messages_dropped_total', 'counter', 'PUBLISH messages dropped (slow consumer queue full, limits).', s.messagesDropped),
    m('mqtt_broker_messages_expired_total', 'counter', 'Messages dropped because their MQTT 5 expiry passed.', s.messagesExpired),
    m('mqtt_broker_messages_no_subscriber_total', 'counter', 'PUBLISH messages that matched no subscriber.', s.messagesNoSubscriber),
    m('mqtt_broker_messages_queued', 'gauge', 'Messages waiting in client queues.', s.messagesQueued),
    m('mqtt_broker_packets_received_total', 'counter', 'MQTT packets of any type received.', s.packetsReceived),
    m('mqtt_broker_packets_sent_total', 'counter', 'MQTT packets of any type sent.', s.packetsSent),
    m('mqtt_broker_bytes_received_total', 'counter', 'Bytes received on MQTT connections.', s.bytesReceived),
    m('mqtt_broker_bytes_sent_total', 'counter', 'Bytes sent on MQTT connections.', s.bytesSent),
    m('mqtt_broker_subscriptions', 'gauge', 'Subscriptions (topic filters) held.', s.subscriptions),
    m('mqtt_broker_retained_messages', 'gauge', 'Retained messages stored.', s.retainedMessages),
    m('mqtt_broker_match_cache_hits_total', 'counter', 'Topic-match cache hits.', s.cacheHits),
    m('mqtt_broker_match_cache_misses_total', 'counter', 'Topic-match cache misses.', s.cacheMisses),
    m('mqtt_broker_match_cache_hit_ratio', 'gauge', 'Topic-match cache hit ratio, 0 to 1 (healthy above 0.9).', s.cacheHitRatio),
    m('mqtt_broker_store_durable', 'gauge', '1 with the durable store (persistence.mode durable), 0 with the memory store.', s.storeDurable),
    m('mqtt_broker_store_size_bytes', 'gauge', 'Bytes of the store\'s files under <dataDir>/store.', s.storeBytes),
    m('mqtt_broker_store_sessions', 'gauge', 'Persistent sessions (expiry > 0) kept by the store.', s.storeSessions),
    m('mqtt_broker_store_messages', 'gauge', 'Queued and in-flight QoS 1/2 messages of persistent sessions.', s.storeMessages),
    m('mqtt_broker_store_fsyncs_total', 'counter', 'fdatasync calls of the store (one per group-commit batch with sync always).', s.storeFsyncs),
    m('mqtt_broker_store_fsync_seconds', 'gauge', 'fdatasync latency over the last 1,024 calls, by quantile.', by('quantile', {'0.5': s.storeFsyncP50Ms / 1000, '0.99': s.storeFsyncP99Ms / 1000})),
    m('mqtt_broker_store_degraded', 'gauge', '1 while the store cannot write: new QoS 1/2 work that needs the disk is refused.', s.storeDegraded),
    m('mqtt_broker_store_refusals_total', 'counter', 'Acks refused because the store could not make the operation durable.', s.storeRefusals),
    m('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', s.rssBytes),
    m('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, bytes.', s.heapUsedBytes),
    m('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap reserved, bytes.', s.heapTotalBytes),
    m('nodejs_heap_size_limit_bytes', 'gauge', 'V8 heap limit, bytes (runtime.maxOldSpaceMb plus the young generation); the process dies with "heap out of memory" at it.', s.heapLimitBytes),
    m('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', s.cpuSecondsTotal),
    m('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', s.processStartTimeSeconds),
  ]
}

/**
 * A cluster node's figures (the same as $SYS/broker/mqttctl/cluster/..., docs/scale-out.md). The
 * cluster totals are sums of the live nodes' own counters, so they fall when a node leaves: gauges.
 */
export function clusterMetrics(f: ClusterFigures): Metric[] {
  const c = 'mqtt_broker_cluster_'
  return [
    m(c + 'node_info', 'gauge', 'This node\'s name in the cluster, value 1.', [{labels: {node: f.node}, value: 1}]),
    m(c + 'connected', 'gauge', '1 while linked to the other nodes through NATS, else 0 (serving local clients only).', f.connected ? 1 : 0),
    m(c + 'disconnects_total', 'counter', 'Losses of the NATS link since start.', f.disconnects),
    m(c + 'messages_exported_total', 'counter', 'Messages handed to NATS for other nodes.', f.exported),
    m(c + 'messages_imported_total', 'counter', 'Messages from other nodes delivered here (core NATS and shared groups).', f.imported),
    m(c + 'messages_local_only_total', 'counter', 'Messages kept on this node because the NATS link was down.', f.localOnly),
    m(c + 'messages_not_wanted_total', 'counter', 'Messages no other node subscribed to (not handed to NATS).', f.notWanted),
    m(c + 'unmapped_total', 'counter', 'Topics, filters or payloads too large for NATS (served on this node only).', f.unmapped),
    m(c + 'durable_copies_total', 'counter', 'QoS 1/2 copies for persistent sessions on other nodes, by what JetStream did with them.', by('result', {stored: f.durableStored, refused: f.durableRefused, dropped: f.durableDropped})),
    m(c + 'durable_received_total', 'counter', 'Copies read from this node\'s JetStream consumer: delivered, or repeats not delivered.', by('result', {delivered: f.durableDelivered, duplicate: f.durableDuplicates})),
    m(c + 'sessions_moved_total', 'counter', 'Persistent sessions handed to another node (away) or taken from one (here).', by('direction', {away: f.sessionsMovedAway, here: f.sessionsMovedHere})),
    m(c + 'nodes', 'gauge', 'Nodes heard from in the last three statistics intervals, this one included.', f.nodes),
    m(c + 'clients', 'gauge', 'Connected clients summed over those nodes.', f.total.clients),
    m(c + 'messages_received', 'gauge', 'PUBLISH messages received, summed over those nodes (falls when a node leaves).', f.total.received),
    m(c + 'messages_sent', 'gauge', 'PUBLISH messages sent, summed over those nodes (falls when a node leaves).', f.total.sent),
    m(c + 'subscriptions', 'gauge', 'Subscriptions summed over those nodes.', f.total.subscriptions),
  ]
}

/** One worker's answer to a scrape: its metric families, or undefined when it did not answer in time. */
export interface WorkerScrape {
  worker: number
  metrics: Metric[] | undefined
}

/**
 * `--workers N` behind one endpoint: every worker's families with a `worker` label on each sample
 * (not summed: a worker that restarts resets only its own counters, and sum() in PromQL adds them
 * up), then how many workers there are and which ones answered this scrape.
 */
export function workerMetrics(workers: number, scrapes: WorkerScrape[]): Metric[] {
  const families = new Map<string, Metric>()
  for (const {worker, metrics} of scrapes) {
    for (const family of metrics ?? []) {
      let merged = families.get(family.name)
      if (merged === undefined) families.set(family.name, (merged = {...family, samples: []}))
      else if (merged.type !== family.type) continue // a worker of another version: keep the first kind
      for (const sample of family.samples) merged.samples.push({labels: {...sample.labels, worker: String(worker)}, value: sample.value})
    }
  }
  return [
    m('mqtt_broker_workers', 'gauge', 'Broker processes of --workers on this host.', workers),
    m('mqtt_broker_worker_up', 'gauge', '1 when the worker answered this scrape, else 0 (starting, restarting or stuck).', scrapes.map((x) => ({labels: {worker: String(x.worker)}, value: x.metrics === undefined ? 0 : 1}))),
    ...families.values(),
  ]
}

/** A worker's answer as it came over IPC: metric families of the right shape, else undefined. */
export function checkMetrics(v: unknown): Metric[] | undefined {
  if (!Array.isArray(v) || v.length > 1000) return undefined
  for (const f of v as Metric[]) {
    if (typeof f?.name !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name) || (f.type !== 'counter' && f.type !== 'gauge') || typeof f.help !== 'string') return undefined
    if (!Array.isArray(f.samples) || f.samples.length > 10_000) return undefined
    for (const x of f.samples) {
      if (typeof x?.value !== 'number') return undefined
      if (x.labels !== undefined && (typeof x.labels !== 'object' || x.labels === null || !Object.entries(x.labels).every(([k, l]) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) && typeof l === 'string'))) return undefined
    }
  }
  return v as Metric[]
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** The exposition text: HELP and TYPE before each family, one line per sample, final newline; `extra` families (a cluster node's) after the broker's. */
export function prometheusText(s: StatsSnapshot, extra: Metric[] = []): string {
  return exposition([...prometheusMetrics(s), ...extra])
}

/** Metric families as exposition text. */
export function exposition(metrics: Metric[]): string {
  const lines: string[] = []
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`)
    for (const {labels, value} of metric.samples) {
      const l = labels ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : ''
      lines.push(`${metric.name}${l} ${formatValue(value)}`)
    }
  }
  return lines.join('\n') + '\n'
}
