/**
 * Every broker statistic in one place. The broker only increments fields here (plain numbers: no
 * allocation, no call on the hot path); the statistics log, $SYS topics, Prometheus endpoint and
 * `mqttctl status` all read this one object.
 */
import {systemClock} from '../clock.js'
import type {StoreFigures} from '../persistence/figures.js'

export class BrokerStats {
  /** clock.now() when the broker started listening. */
  startedAt = systemClock.now()
  maxConnections = 0

  // Connections
  #connectionsLive = 0
  /** Live (CONNECTed) clients. A plain number to the broker (`stats.connectionsLive++`); the setter
   * only keeps `connectionsPeak` up to date, so no short spike is missed between two ticks. */
  get connectionsLive(): number {
    return this.#connectionsLive
  }
  set connectionsLive(value: number) {
    this.#connectionsLive = value
    if (value > this.connectionsPeak) this.connectionsPeak = value
  }
  /** Most live connections at one time since start (Mosquitto's clients/maximum). */
  connectionsPeak = 0
  /** Every successful CONNECT since start. */
  connectionsTotal = 0
  /** Connections refused because maxConnections was reached. */
  connectionsRefused = 0
  /** CONNECTs the authorizer refused, and take-overs it did not allow. */
  authFailures = 0
  /** Sockets closed for a protocol error or malformed packet. */
  protocolErrors = 0
  /** Faults while serving one client (a bug): that client was closed with 0x80/0x83 (docs/limits.md). */
  internalErrors = 0
  /** A client reached a limit (subscriptions, sessions, retained, aliases, memory): refused with 0x97 / 0x9F. */
  limitsReached = 0
  /** CONNECTs refused by limits.connectRatePerAddress. */
  connectionsRateLimited = 0
  /** Sockets open that have not sent CONNECT yet (bounded by limits.maxPendingConnects). */
  pendingConnects = 0
  /** Times memory reached limits.maxMemory, and 1 while it is above (0 otherwise). */
  overloadEpisodes = 0
  overloaded = 0
  /** Sessions kept with no live connection (the guide's "Orphan Clients"). */
  sessionsOrphan = 0
  /** Sessions known (live + orphan). */
  sessionsTotal = 0

  // Messages (PUBLISH packets)
  messagesReceived = 0
  messagesSent = 0
  receivedByQos: [number, number, number] = [0, 0, 0]
  sentByQos: [number, number, number] = [0, 0, 0]
  /** PUBLISH dropped: slow consumer's queue full (QoS 0) or limit reached. */
  messagesDropped = 0
  /** Messages dropped because their MQTT 5 message expiry passed. */
  messagesExpired = 0
  /** Messages waiting in per-client outbound/offline queues now. */
  messagesQueued = 0
  /** Messages that matched no subscriber. */
  messagesNoSubscriber = 0
  /** PUBLISH the authorizer refused (dropped; MQTT 5 PUBACK/PUBREC 0x87). */
  publishDenied = 0
  /** Deliveries the authorizer refused (canRead), not sent. */
  deliveriesDenied = 0
  /** SUBSCRIBE filters the ACL refused (SUBACK 0x87 / 0x80). */
  subscribeDenied = 0
  /** Login attempts held back (or refused as busy) by failed-login slowing per source address. */
  loginsDelayed = 0
  /** Take-overs of a connected client id by another user, refused. */
  takeOversRefused = 0
  /** Acks refused because the store could not make the operation durable, or was degraded (0x97 / 0x80 / close). */
  storeRefusals = 0

  // Bytes on the wire (all packets)
  bytesReceived = 0
  bytesSent = 0
  packetsReceived = 0
  packetsSent = 0

  // Topic index
  subscriptions = 0
  retainedMessages = 0
  matchCacheHits = 0
  matchCacheMisses = 0

  /** The store's figures (size on disk, fsyncs, ...), read at each statistics tick; set by the broker. */
  storeFigures: (() => StoreFigures) | undefined = undefined

  /** Seconds since start. */
  uptimeSeconds(now = systemClock.now()): number {
    return Math.floor((now - this.startedAt) / 1000)
  }

  /** Topic-match cache hit ratio in [0, 1]; 1 when nothing was matched yet. */
  cacheHitRatio(): number {
    const total = this.matchCacheHits + this.matchCacheMisses
    return total === 0 ? 1 : this.matchCacheHits / total
  }
}
