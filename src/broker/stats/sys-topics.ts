/**
 * Statistics as retained `$SYS/broker/...` topics. Mosquitto's names (sys_tree.c) where one exists,
 * so existing tools read them unchanged; our other figures under `$SYS/broker/mqttctl/...`.
 * The table is the single list of names: the reporter publishes from it and `mqttctl monitor`
 * parses with it.
 */
import {LOAD_NAMES, LOAD_WINDOWS, type LoadValues} from './loads.js'
import type {StatsSnapshot} from './snapshot.js'

export const SYS_PREFIX = '$SYS/broker/'
/** Published last on every tick: the batch is complete (monitor) and its exact time (ms). */
export const SYS_TIMESTAMP_TOPIC = '$SYS/broker/mqttctl/timestamp'

type Key = Exclude<keyof StatsSnapshot, 'version' | 'time'>

export interface SysTopic {
  topic: string
  key: Key
  help: string
  /** Payload format; default: the integer. */
  format?: Format
}

type Format = 'ratio' | 'seconds' | 'fixed2'
/** One row: the snapshot figure, its help text, its payload format (default: the integer). */
type Row = readonly [key: Key, help: string, format?: Format]

/** The topics of one $SYS subtree, in order: `prefix + name` for each row. */
const under = (prefix: string, rows: Record<string, Row>): SysTopic[] =>
  Object.entries(rows).map(([name, [key, help, format]]) => ({topic: SYS_PREFIX + prefix + name, key, help, format}))

/** PUBLISH counted per QoS: `<dir>/qos0..2`. */
const perQos = (dir: 'received' | 'sent'): Record<string, Row> =>
  Object.fromEntries(([0, 1, 2] as const).map((q) => [`${dir}/qos${q}`, [`${dir}Qos${q}`, `PUBLISH ${dir} at QoS ${q}`] as Row]))

/** Every numeric $SYS topic (plus $SYS/broker/version and the load averages below). */
export const SYS_TOPICS: readonly SysTopic[] = [
  // Mosquitto's names (sys_tree.c)
  ...under('', {
    uptime: ['uptimeSeconds', 'seconds since the broker started ("N seconds", as Mosquitto)', 'seconds'],
    'clients/connected': ['connectionsLive', 'live (connected) clients'],
    'clients/disconnected': ['sessionsOrphan', 'sessions kept with no live connection (orphan clients)'],
    'clients/total': ['sessionsTotal', 'sessions known: connected + disconnected'],
    'clients/maximum': ['connectionsPeak', 'most clients connected at one time since start'],
    'messages/received': ['packetsReceived', 'MQTT packets of any type received (Mosquitto semantics)'],
    'messages/sent': ['packetsSent', 'MQTT packets of any type sent'],
    'publish/messages/received': ['messagesReceived', 'PUBLISH messages received from clients'],
    'publish/messages/sent': ['messagesSent', 'PUBLISH messages sent to subscribers'],
    'publish/messages/dropped': ['messagesDropped', 'PUBLISH messages dropped (slow consumer queue full, limits)'],
    'bytes/received': ['bytesReceived', 'bytes received, all packets'],
    'bytes/sent': ['bytesSent', 'bytes sent, all packets'],
    'subscriptions/count': ['subscriptions', 'subscriptions (topic filters) held'],
    'retained messages/count': ['retainedMessages', 'retained messages stored'],
    'heap/current': ['heapUsedBytes', 'V8 heap in use, bytes'],
    'heap/maximum': ['heapPeakBytes', 'largest V8 heap in use seen, bytes'],
  }),
  ...under('mqttctl/clients/', {
    limit: ['connectionsMax', 'configured maxConnections'],
    orphan: ['sessionsOrphan', 'orphan sessions (same as clients/disconnected)'],
  }),
  ...under('mqttctl/connections/', {
    total: ['connectionsTotal', 'successful CONNECTs since start'],
    refused: ['connectionsRefused', 'connections refused: "Connection limit reached"'],
    'protocol-errors': ['protocolErrors', 'connections closed for a malformed packet or a protocol error'],
    'internal-errors': ['internalErrors', 'faults while serving one client (that client was closed with 0x80/0x83)'],
    'rate-limited': ['connectionsRateLimited', 'CONNECTs refused by limits.connectRatePerAddress'],
    pending: ['pendingConnects', 'sockets that have not sent CONNECT yet'],
  }),
  ...under('mqttctl/limits/', {
    reached: ['limitsReached', 'requests refused at a configured limit (subscriptions, sessions, retained, aliases, memory)'],
  }),
  ...under('mqttctl/overload/', {
    episodes: ['overloadEpisodes', 'times resident memory reached limits.maxMemory'],
    active: ['overloaded', '1 while resident memory is above limits.maxMemory'],
  }),
  ...under('mqttctl/auth/', {
    failures: ['authFailures', 'CONNECTs refused by authentication (bad user name or password, anonymous, take-over by another user)'],
    delayed: ['loginsDelayed', 'login attempts held back by failed-login slowing per source address'],
  }),
  ...under('mqttctl/acl/', {
    'publish-denied': ['publishDenied', 'PUBLISH refused by the ACL (dropped)'],
    'subscribe-denied': ['subscribeDenied', 'SUBSCRIBE filters refused by the ACL'],
    'delivery-denied': ['deliveriesDenied', 'deliveries the ACL refused (not sent)'],
  }),
  ...under('mqttctl/publish/', {...perQos('received'), ...perQos('sent')}),
  ...under('mqttctl/messages/', {
    dropped: ['messagesDropped', 'PUBLISH dropped (slow consumers, limits)'],
    expired: ['messagesExpired', 'messages dropped because their MQTT 5 expiry passed'],
    queued: ['messagesQueued', 'messages waiting in client queues now'],
    'no-subscriber': ['messagesNoSubscriber', 'PUBLISH that matched no subscriber'],
  }),
  ...under('mqttctl/cache/', {
    hits: ['cacheHits', 'topic-match cache hits'],
    misses: ['cacheMisses', 'topic-match cache misses'],
    'hit-ratio': ['cacheHitRatio', 'topic-match cache hit ratio, 0 to 1 (healthy > 0.9)', 'ratio'],
  }),
  ...under('mqttctl/store/', {
    durable: ['storeDurable', '1 with the durable store, 0 with the memory store (persistence.mode none)'],
    bytes: ['storeBytes', 'bytes of the store\'s files under <dataDir>/store'],
    sessions: ['storeSessions', 'persistent sessions kept by the store'],
    messages: ['storeMessages', 'queued and in-flight QoS 1/2 messages of persistent sessions'],
    fsyncs: ['storeFsyncs', 'fdatasync calls since start'],
    'fsync-p50-ms': ['storeFsyncP50Ms', 'fdatasync latency, median of the last 1,024, ms', 'fixed2'],
    'fsync-p99-ms': ['storeFsyncP99Ms', 'fdatasync latency, 99th percentile of the last 1,024, ms', 'fixed2'],
    degraded: ['storeDegraded', '1 while the store cannot write (QoS 1/2 work needing the disk refused)'],
    refusals: ['storeRefusals', 'acks refused because the store could not make the operation durable'],
  }),
  ...under('mqttctl/process/', {
    rss: ['rssBytes', 'resident memory, bytes'],
    'heap/used': ['heapUsedBytes', 'V8 heap in use, bytes (same as heap/current)'],
    'heap/total': ['heapTotalBytes', 'V8 heap reserved, bytes'],
    'heap/limit': ['heapLimitBytes', 'V8 heap limit, bytes (runtime.maxOldSpaceMb plus the young generation): "heap out of memory" when the heap in use reaches it'],
    'cpu/seconds': ['cpuSecondsTotal', 'CPU time used since start, seconds', 'fixed2'],
    'cpu/percent': ['cpuPercent', 'CPU over the last statistics interval, % of one core', 'fixed2'],
    'start-time': ['processStartTimeSeconds', 'process start, Unix seconds'],
  }),
]

export function loadTopic(name: string, window: string): string {
  return `${SYS_PREFIX}load/${name}/${window}`
}

function payload(value: number, format: SysTopic['format']): string {
  switch (format) {
    case 'seconds':
      return `${Math.floor(value)} seconds`
    case 'ratio':
      return value.toFixed(4)
    case 'fixed2':
      return value.toFixed(2)
    default:
      return String(Math.round(value))
  }
}

/** [topic, payload] pairs for one tick, the timestamp last. */
export function sysMessages(s: StatsSnapshot, loads: LoadValues): Array<[string, string]> {
  const out: Array<[string, string]> = [[SYS_PREFIX + 'version', s.version]]
  for (const {topic, key, format} of SYS_TOPICS) out.push([topic, payload(s[key], format)])
  for (const name of LOAD_NAMES) {
    for (const w of LOAD_WINDOWS) out.push([loadTopic(name, w), loads[name][w].toFixed(2)])
  }
  out.push([SYS_TIMESTAMP_TOPIC, String(s.time)])
  return out
}
