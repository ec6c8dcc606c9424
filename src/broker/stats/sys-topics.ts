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
  format?: 'ratio' | 'seconds' | 'fixed2'
}

const t = (topic: string, key: Key, help: string, format?: SysTopic['format']): SysTopic => ({
  topic: SYS_PREFIX + topic,
  key,
  help,
  format,
})

/** Every numeric $SYS topic (plus $SYS/broker/version and the load averages below). */
export const SYS_TOPICS: readonly SysTopic[] = [
  t('uptime', 'uptimeSeconds', 'seconds since the broker started ("N seconds", as Mosquitto)', 'seconds'),
  t('clients/connected', 'connectionsLive', 'live (connected) clients'),
  t('clients/disconnected', 'sessionsOrphan', 'sessions kept with no live connection (orphan clients)'),
  t('clients/total', 'sessionsTotal', 'sessions known: connected + disconnected'),
  t('clients/maximum', 'connectionsPeak', 'most clients connected at one time since start'),
  t('messages/received', 'packetsReceived', 'MQTT packets of any type received (Mosquitto semantics)'),
  t('messages/sent', 'packetsSent', 'MQTT packets of any type sent'),
  t('publish/messages/received', 'messagesReceived', 'PUBLISH messages received from clients'),
  t('publish/messages/sent', 'messagesSent', 'PUBLISH messages sent to subscribers'),
  t('publish/messages/dropped', 'messagesDropped', 'PUBLISH messages dropped (slow consumer queue full, limits)'),
  t('bytes/received', 'bytesReceived', 'bytes received, all packets'),
  t('bytes/sent', 'bytesSent', 'bytes sent, all packets'),
  t('subscriptions/count', 'subscriptions', 'subscriptions (topic filters) held'),
  t('retained messages/count', 'retainedMessages', 'retained messages stored'),
  t('heap/current', 'heapUsedBytes', 'V8 heap in use, bytes'),
  t('heap/maximum', 'heapPeakBytes', 'largest V8 heap in use seen, bytes'),
  t('mqttctl/clients/limit', 'connectionsMax', 'configured maxConnections'),
  t('mqttctl/clients/orphan', 'sessionsOrphan', 'orphan sessions (same as clients/disconnected)'),
  t('mqttctl/connections/total', 'connectionsTotal', 'successful CONNECTs since start'),
  t('mqttctl/connections/refused', 'connectionsRefused', 'connections refused: "Connection limit reached"'),
  t('mqttctl/connections/protocol-errors', 'protocolErrors', 'connections closed for a malformed packet or a protocol error'),
  t('mqttctl/connections/internal-errors', 'internalErrors', 'faults while serving one client (that client was closed with 0x80/0x83)'),
  t('mqttctl/connections/rate-limited', 'connectionsRateLimited', 'CONNECTs refused by limits.connectRatePerAddress'),
  t('mqttctl/connections/pending', 'pendingConnects', 'sockets that have not sent CONNECT yet'),
  t('mqttctl/limits/reached', 'limitsReached', 'requests refused at a configured limit (subscriptions, sessions, retained, aliases, memory)'),
  t('mqttctl/overload/episodes', 'overloadEpisodes', 'times resident memory reached limits.maxMemory'),
  t('mqttctl/overload/active', 'overloaded', '1 while resident memory is above limits.maxMemory'),
  t('mqttctl/auth/failures', 'authFailures', 'CONNECTs refused by authentication (bad user name or password, anonymous, take-over by another user)'),
  t('mqttctl/auth/delayed', 'loginsDelayed', 'login attempts held back by failed-login slowing per source address'),
  t('mqttctl/acl/publish-denied', 'publishDenied', 'PUBLISH refused by the ACL (dropped)'),
  t('mqttctl/acl/subscribe-denied', 'subscribeDenied', 'SUBSCRIBE filters refused by the ACL'),
  t('mqttctl/acl/delivery-denied', 'deliveriesDenied', 'deliveries the ACL refused (not sent)'),
  t('mqttctl/publish/received/qos0', 'receivedQos0', 'PUBLISH received at QoS 0'),
  t('mqttctl/publish/received/qos1', 'receivedQos1', 'PUBLISH received at QoS 1'),
  t('mqttctl/publish/received/qos2', 'receivedQos2', 'PUBLISH received at QoS 2'),
  t('mqttctl/publish/sent/qos0', 'sentQos0', 'PUBLISH sent at QoS 0'),
  t('mqttctl/publish/sent/qos1', 'sentQos1', 'PUBLISH sent at QoS 1'),
  t('mqttctl/publish/sent/qos2', 'sentQos2', 'PUBLISH sent at QoS 2'),
  t('mqttctl/messages/dropped', 'messagesDropped', 'PUBLISH dropped (slow consumers, limits)'),
  t('mqttctl/messages/expired', 'messagesExpired', 'messages dropped because their MQTT 5 expiry passed'),
  t('mqttctl/messages/queued', 'messagesQueued', 'messages waiting in client queues now'),
  t('mqttctl/messages/no-subscriber', 'messagesNoSubscriber', 'PUBLISH that matched no subscriber'),
  t('mqttctl/cache/hits', 'cacheHits', 'topic-match cache hits'),
  t('mqttctl/cache/misses', 'cacheMisses', 'topic-match cache misses'),
  t('mqttctl/cache/hit-ratio', 'cacheHitRatio', 'topic-match cache hit ratio, 0 to 1 (healthy > 0.9)', 'ratio'),
  t('mqttctl/store/durable', 'storeDurable', '1 with the durable store, 0 with the memory store (persistence.mode none)'),
  t('mqttctl/store/bytes', 'storeBytes', 'bytes of the store\'s files under <dataDir>/store'),
  t('mqttctl/store/sessions', 'storeSessions', 'persistent sessions kept by the store'),
  t('mqttctl/store/messages', 'storeMessages', 'queued and in-flight QoS 1/2 messages of persistent sessions'),
  t('mqttctl/store/fsyncs', 'storeFsyncs', 'fdatasync calls since start'),
  t('mqttctl/store/fsync-p50-ms', 'storeFsyncP50Ms', 'fdatasync latency, median of the last 1,024, ms', 'fixed2'),
  t('mqttctl/store/fsync-p99-ms', 'storeFsyncP99Ms', 'fdatasync latency, 99th percentile of the last 1,024, ms', 'fixed2'),
  t('mqttctl/store/degraded', 'storeDegraded', '1 while the store cannot write (QoS 1/2 work needing the disk refused)'),
  t('mqttctl/store/refusals', 'storeRefusals', 'acks refused because the store could not make the operation durable'),
  t('mqttctl/process/rss', 'rssBytes', 'resident memory, bytes'),
  t('mqttctl/process/heap/total', 'heapTotalBytes', 'V8 heap reserved, bytes'),
  t('mqttctl/process/cpu/seconds', 'cpuSecondsTotal', 'CPU time used since start, seconds', 'fixed2'),
  t('mqttctl/process/cpu/percent', 'cpuPercent', 'CPU over the last statistics interval, % of one core', 'fixed2'),
  t('mqttctl/process/start-time', 'processStartTimeSeconds', 'process start, Unix seconds'),
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
