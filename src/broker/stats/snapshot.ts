/**
 * One point-in-time copy of every statistic, as plain JSON. The statistics log, $SYS topics and
 * Prometheus text are pure functions of this object (nats-server's Varz pattern), and `mqttctl
 * monitor` reads the same names back from $SYS.
 */
import {systemClock} from '../clock.js'
import type {BrokerStats} from './counters.js'
import type {LoadCounters, LoadValues} from './loads.js'
import type {ProcessSample} from './process.js'

export interface StatsSnapshot {
  /** Unix time of the snapshot, ms. */
  time: number
  version: string
  uptimeSeconds: number

  connectionsLive: number
  /** The configured limit (maxConnections). */
  connectionsMax: number
  connectionsPeak: number
  connectionsTotal: number
  connectionsRefused: number
  /** Connections closed for a malformed packet or a protocol error. */
  protocolErrors: number
  internalErrors: number
  limitsReached: number
  connectionsRateLimited: number
  pendingConnects: number
  overloadEpisodes: number
  overloaded: number
  /** CONNECTs refused by authentication (bad credentials, anonymous, take-over by another user). */
  authFailures: number
  /** Login attempts held back by failed-login slowing per source address. */
  loginsDelayed: number
  /** PUBLISH, SUBSCRIBE filters and deliveries the ACL refused. */
  publishDenied: number
  subscribeDenied: number
  deliveriesDenied: number
  sessionsOrphan: number
  sessionsTotal: number

  /** PUBLISH packets. */
  messagesReceived: number
  messagesSent: number
  receivedQos0: number
  receivedQos1: number
  receivedQos2: number
  sentQos0: number
  sentQos1: number
  sentQos2: number
  messagesDropped: number
  messagesExpired: number
  messagesQueued: number
  messagesNoSubscriber: number

  /** MQTT packets of any type. */
  packetsReceived: number
  packetsSent: number
  bytesReceived: number
  bytesSent: number

  subscriptions: number
  retainedMessages: number
  cacheHits: number
  cacheMisses: number
  /** In [0, 1]; 1 when nothing was matched yet. */
  cacheHitRatio: number

  /** The store: 'durable' (1) or memory (0); bytes of its files; sessions and messages kept on disk. */
  storeDurable: number
  storeBytes: number
  storeSessions: number
  storeMessages: number
  /** fdatasync calls since start and their latency over the last 1,024, ms. */
  storeFsyncs: number
  storeFsyncP50Ms: number
  storeFsyncP99Ms: number
  /** 1 while the store cannot write (new QoS 1/2 work that needs the disk is refused). */
  storeDegraded: number
  /** Acks refused because the store could not make the operation durable. */
  storeRefusals: number

  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /** V8's heap limit (0: unknown): the heap in use must stay well below it. */
  heapLimitBytes: number
  heapPeakBytes: number
  cpuSecondsTotal: number
  cpuPercent: number
  processStartTimeSeconds: number
}

export function takeSnapshot(stats: BrokerStats, proc: ProcessSample, version: string, now = systemClock.now()): StatsSnapshot {
  const store = stats.storeFigures?.()
  return {
    time: now,
    version,
    uptimeSeconds: stats.uptimeSeconds(now),
    connectionsLive: stats.connectionsLive,
    connectionsMax: stats.maxConnections,
    connectionsPeak: stats.connectionsPeak,
    connectionsTotal: stats.connectionsTotal,
    connectionsRefused: stats.connectionsRefused,
    protocolErrors: stats.protocolErrors,
    internalErrors: stats.internalErrors,
    limitsReached: stats.limitsReached,
    connectionsRateLimited: stats.connectionsRateLimited,
    pendingConnects: stats.pendingConnects,
    overloadEpisodes: stats.overloadEpisodes,
    overloaded: stats.overloaded,
    authFailures: stats.authFailures,
    loginsDelayed: stats.loginsDelayed,
    publishDenied: stats.publishDenied,
    subscribeDenied: stats.subscribeDenied,
    deliveriesDenied: stats.deliveriesDenied,
    sessionsOrphan: stats.sessionsOrphan,
    sessionsTotal: stats.sessionsTotal,
    messagesReceived: stats.messagesReceived,
    messagesSent: stats.messagesSent,
    receivedQos0: stats.receivedByQos[0],
    receivedQos1: stats.receivedByQos[1],
    receivedQos2: stats.receivedByQos[2],
    sentQos0: stats.sentByQos[0],
    sentQos1: stats.sentByQos[1],
    sentQos2: stats.sentByQos[2],
    messagesDropped: stats.messagesDropped,
    messagesExpired: stats.messagesExpired,
    messagesQueued: stats.messagesQueued,
    messagesNoSubscriber: stats.messagesNoSubscriber,
    packetsReceived: stats.packetsReceived,
    packetsSent: stats.packetsSent,
    bytesReceived: stats.bytesReceived,
    bytesSent: stats.bytesSent,
    subscriptions: stats.subscriptions,
    retainedMessages: stats.retainedMessages,
    cacheHits: stats.matchCacheHits,
    cacheMisses: stats.matchCacheMisses,
    cacheHitRatio: stats.cacheHitRatio(),
    storeDurable: store?.kind === 'durable' ? 1 : 0,
    storeBytes: store?.bytesOnDisk ?? 0,
    storeSessions: store?.persistentSessions ?? 0,
    storeMessages: store?.storedMessages ?? 0,
    storeFsyncs: store?.fsyncs ?? 0,
    storeFsyncP50Ms: store?.fsyncP50Ms ?? 0,
    storeFsyncP99Ms: store?.fsyncP99Ms ?? 0,
    storeDegraded: store?.degraded ? 1 : 0,
    storeRefusals: stats.storeRefusals,
    rssBytes: proc.rssBytes,
    heapUsedBytes: proc.heapUsedBytes,
    heapTotalBytes: proc.heapTotalBytes,
    heapLimitBytes: proc.heapLimitBytes,
    heapPeakBytes: proc.heapPeakBytes,
    cpuSecondsTotal: proc.cpuSecondsTotal,
    cpuPercent: proc.cpuPercent,
    processStartTimeSeconds: proc.startTimeSeconds,
  }
}

/** The counters behind Mosquitto's load averages. */
export function loadCounters(s: StatsSnapshot): LoadCounters {
  return {
    'messages/received': s.packetsReceived,
    'messages/sent': s.packetsSent,
    'publish/received': s.messagesReceived,
    'publish/sent': s.messagesSent,
    'publish/dropped': s.messagesDropped,
    'bytes/received': s.bytesReceived,
    'bytes/sent': s.bytesSent,
    connections: s.connectionsTotal,
  }
}

export type {LoadValues}
