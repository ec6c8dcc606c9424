/**
 * The broker configuration: one schema for every command (plan --write, start, build, doctor) and
 * for the broker runtime. Each setting is described once in FIELDS; defaults, validation,
 * environment variables and "where did this value come from" all derive from that table.
 */
/** Broker log levels (here, not in sizing/, so the broker can use the type without importing the CLI side). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

import {MAX_PACKET_SIZE, NEVER_EXPIRES} from '../broker/protocol/versions.js'
import {DEFAULT_TIER, TIER_BROKER, TIER_MAX_MEMORY} from './tier-figures.js'

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export interface TlsConfig {
  /** PEM certificate chain file. */
  cert: string
  /** PEM private key file. */
  key: string
  /** Optional CA bundle for client certificates. */
  ca?: string
}

export interface ListenerConfig {
  host: string
  port: number
  /** Present: the listener speaks MQTT over TLS (8883 by convention). */
  tls?: TlsConfig
  /** MQTT over WebSocket on this listener (wss:// when `tls` is set). */
  websocket?: boolean
  /** WebSocket listeners: the HTTP path served (default /mqtt). */
  path?: string
}

/** Who may connect and what they may do: Mosquitto's password and ACL files, read as is. */
export interface AuthConfig {
  /** Mosquitto password file (mosquitto_passwd / mqttctl passwd); absent = no passwords checked. */
  passwordFile?: string
  /** Mosquitto ACL file; absent = every client may publish and subscribe to anything. */
  aclFile?: string
  /** Clients without a user name; absent = true without a password file, false with one. */
  allowAnonymous?: boolean
  /** With a password file, a connection may take over a connected client id only as the same user ('same-user'), or always ('any'). */
  takeOver: 'same-user' | 'any'
  /** Verified logins remembered in memory (HMAC-keyed, no password kept); 0 = verify every CONNECT. */
  credentialCache: number
}

export interface BrokerLimits {
  /** Seconds a socket may stay open without sending CONNECT. */
  connectTimeout: number
  /** Largest keep alive the broker accepts, seconds; 0 = accept any. Announced to MQTT 5 clients as server keep alive when lower than asked. */
  maxKeepAlive: number
  /** Largest MQTT packet accepted, bytes (announced as MQTT 5 maximum packet size). */
  maxPacketSize: number
  /** QoS 1/2 messages a client may have unacknowledged towards the broker (MQTT 5 receive maximum), and the broker towards a client. */
  receiveMaximum: number
  /** Topic aliases accepted from an MQTT 5 client (topic alias maximum announced in CONNACK). */
  topicAliasMaximum: number
  /** Per-client outbound queue: messages. */
  maxQueuedMessages: number
  /** Per-client outbound queue: bytes. */
  maxQueuedBytes: number
  /** Largest MQTT 5 session expiry interval granted, seconds. */
  maxSessionExpiry: number
  /** Entries in the topic-match cache (topic -> subscribers). */
  matchCacheSize: number
  /** Topic-match cache size in bytes (topic names and results, estimated); the oldest entries go past it. */
  matchCacheBytes: number
  /** Filters one client may hold; past it SUBACK 0x97 (3.1.1: 0x80). */
  maxSubscriptionsPerClient: number
  /** Sessions, connected and offline; past it a client without a session gets CONNACK 0x97 (3.1.1: 3). */
  maxSessions: number
  /** Retained messages; past it a new topic is not retained (MQTT 5 QoS 1/2: 0x97). */
  maxRetainedMessages: number
  /** Retained messages' topic and payload bytes; past it as maxRetainedMessages. */
  maxRetainedBytes: number
  /** Bytes of topic names one MQTT 5 client may hold in its topic aliases; past it DISCONNECT 0x97. */
  maxAliasBytes: number
  /** Sockets that have not sent CONNECT; past it the oldest is closed to make room. */
  maxPendingConnects: number
  /** New connections per second from one source address (token bucket); 0 = no limit. Past it CONNACK 0x9F (3.1.1: 3). */
  connectRatePerAddress: number
  /** Resident memory of the broker, bytes, above which it refuses new connections and QoS 1/2 (0x97) and sheds QoS 0 to slow consumers; 0 = no ceiling. */
  maxMemory: number
}

export interface MetricsConfig {
  /** Serve Prometheus /metrics and /healthz over HTTP. */
  enabled: boolean
  /** 0 = an ephemeral port (tests). */
  port: number
  host: string
}

/** Node.js memory flags of the broker process (read by its launchers, not by the running broker: V8 sizes its heap at start). */
export interface RuntimeConfig {
  /** V8 heap limit, MB (--max-old-space-size); 0 = V8's default (about a quarter of RAM, at most ~4 GB). `plan --write` sets it from its estimate. */
  maxOldSpaceMb: number
  /** V8 young-generation semi-space, MB (--max-semi-space-size); 0 = V8's default (grows to 16 MB under load). */
  maxSemiSpaceMb: number
}

/** Scale-out: broker nodes exchanging messages through NATS (docs/scale-out.md). */
export interface ClusterConfig {
  /** NATS server URLs (nats://host:4222); empty = no cluster, the single-process broker. */
  servers: string[]
  /** First token(s) of every NATS subject and the JetStream stream names: two clusters can share one NATS. */
  subjectPrefix: string
  /** This node's name in logs and $SYS; unset = host name and pid. */
  nodeName?: string
  /** JetStream replicas of the retained-message stream (at most the number of NATS servers). */
  replicas: number
  /** Broker processes on this host sharing the listening port(s) (start --workers). */
  workers: number
}

/** Where sessions, queued messages and retained messages live (docs/durability.md). */
export interface PersistenceConfig {
  /** 'durable': a journal under <dataDir>/store, loaded at start; 'none': memory only, lost on restart. */
  mode: 'durable' | 'none'
  /** 'always': a QoS 1/2 ack waits for fdatasync; 'interval': for the write only (survives kill -9), fdatasync every syncInterval ms. */
  sync: 'always' | 'interval'
  /** sync "interval": longest wait for an fdatasync, ms (what a power cut can lose). */
  syncInterval: number
  /** Journal growth (MB) that starts a compaction (a new snapshot, older files removed). */
  compactMb: number
  /** Longest delay before subscriptions.json shows a change, seconds. */
  subscriptionsInterval: number
}

export interface BrokerConfig {
  listeners: ListenerConfig[]
  maxConnections: number
  ioEntries: number
  clientPool: number
  forwardBatchSize: number
  logLevel: LogLevel
  dataDir: string
  /** Statistics log / $SYS interval, seconds. */
  statsInterval: number
  metrics: MetricsConfig
  limits: BrokerLimits
  /** Topic filters the broker refuses to subscribe to (SUBACK 0x80 / reason 0x87). */
  denySubscribe: string[]
  auth: AuthConfig
  runtime: RuntimeConfig
  cluster: ClusterConfig
  persistence: PersistenceConfig
}

type Kind = 'int' | 'bool' | 'string' | 'enum' | 'listeners' | 'strings' | 'optString' | 'optBool'

export interface FieldSpec {
  /** Dotted key path in the file, e.g. "limits.maxKeepAlive". */
  key: string
  kind: Kind
  min?: number
  max?: number
  values?: readonly string[]
  /** Environment variable that overrides the file. */
  env?: string
  help: string
}

/** Default broker: the small tier's figures, listening on every interface on 1883. */
export const DEFAULT_CONFIG: BrokerConfig = {
  listeners: [{host: '0.0.0.0', port: 1883}],
  ...TIER_BROKER[DEFAULT_TIER],
  dataDir: './data',
  statsInterval: 5,
  metrics: {enabled: false, port: 9234, host: '127.0.0.1'},
  limits: {
    connectTimeout: 10,
    maxKeepAlive: 65_535,
    maxPacketSize: MAX_PACKET_SIZE,
    // docs/limits.md: every default below and the anchors (Mosquitto, EMQX, HiveMQ) it follows.
    receiveMaximum: 32,
    topicAliasMaximum: 10,
    maxQueuedMessages: 1_000,
    maxQueuedBytes: 16 * 1024 * 1024,
    maxSessionExpiry: 7_200,
    matchCacheSize: 10_000,
    matchCacheBytes: 16 * 1024 * 1024,
    maxSubscriptionsPerClient: 1_000,
    maxSessions: 50_000,
    maxRetainedMessages: 1_000_000,
    maxRetainedBytes: 256 * 1024 * 1024,
    maxAliasBytes: 64 * 1024,
    maxPendingConnects: 5_000,
    connectRatePerAddress: 0,
    maxMemory: TIER_MAX_MEMORY[DEFAULT_TIER],
  },
  denySubscribe: [],
  auth: {takeOver: 'same-user', credentialCache: 100_000},
  runtime: {maxOldSpaceMb: 0, maxSemiSpaceMb: 2},
  cluster: {servers: [], subjectPrefix: 'mqtt', replicas: 1, workers: 1},
  persistence: {mode: 'durable', sync: 'always', syncInterval: 1000, compactMb: 64, subscriptionsInterval: 10},
}

export const FIELDS: readonly FieldSpec[] = [
  {key: 'listeners', kind: 'listeners', help: 'MQTT listeners: [{host, port, tls?: {cert, key, ca?}}]'},
  {key: 'maxConnections', kind: 'int', min: 1, max: 100_000_000, env: 'MQTTCTL_MAX_CONNECTIONS', help: 'live connections accepted before "Connection limit reached"'},
  {key: 'ioEntries', kind: 'int', min: 1, max: 1_048_576, env: 'MQTTCTL_IO_ENTRIES', help: 'the guide\'s IO_ENTRIES; here: connections accepted per event-loop turn'},
  {key: 'clientPool', kind: 'int', min: 0, max: 10_000_000, env: 'MQTTCTL_CLIENT_POOL', help: 'the guide\'s MAX_CLIENTS_POOL; accepted for compatibility, no effect here (connections need no pre-warmed objects)'},
  {key: 'forwardBatchSize', kind: 'int', min: 1, max: 1_000_000, env: 'MQTTCTL_FORWARD_BATCH_SIZE', help: 'subscribers served per fan-out batch before yielding'},
  {key: 'logLevel', kind: 'enum', values: LOG_LEVELS, env: 'MQTTCTL_LOG_LEVEL', help: 'debug, info, warn or error'},
  {key: 'dataDir', kind: 'string', env: 'MQTTCTL_DATA_DIR', help: 'directory for pid, log and persistent state'},
  {key: 'statsInterval', kind: 'int', min: 1, max: 3_600, env: 'MQTTCTL_STATS_INTERVAL', help: 'seconds between statistics log lines and $SYS updates'},
  {key: 'metrics.enabled', kind: 'bool', env: 'MQTTCTL_METRICS', help: 'serve Prometheus /metrics and /healthz over HTTP'},
  {key: 'metrics.port', kind: 'int', min: 0, max: 65_535, env: 'MQTTCTL_METRICS_PORT', help: 'metrics HTTP port (0 = ephemeral)'},
  {key: 'metrics.host', kind: 'string', env: 'MQTTCTL_METRICS_HOST', help: 'address the metrics listener binds'},
  {key: 'limits.connectTimeout', kind: 'int', min: 1, max: 3_600, help: 'seconds a socket may stay silent before CONNECT'},
  {key: 'limits.maxKeepAlive', kind: 'int', min: 0, max: 65_535, help: 'largest keep alive granted, seconds (0 = any)'},
  {key: 'limits.maxPacketSize', kind: 'int', min: 64, max: MAX_PACKET_SIZE, help: 'largest packet accepted, bytes'},
  {key: 'limits.receiveMaximum', kind: 'int', min: 1, max: 65_535, help: 'unacknowledged QoS 1/2 messages per direction'},
  {key: 'limits.topicAliasMaximum', kind: 'int', min: 0, max: 65_535, help: 'topic aliases accepted from MQTT 5 clients'},
  {key: 'limits.maxQueuedMessages', kind: 'int', min: 1, max: 10_000_000, help: 'per-client outbound queue, messages'},
  {key: 'limits.maxQueuedBytes', kind: 'int', min: 1_024, max: 2 ** 40, help: 'per-client outbound queue, bytes'},
  {key: 'limits.maxSessionExpiry', kind: 'int', min: 0, max: NEVER_EXPIRES, help: 'largest MQTT 5 session expiry granted, seconds'},
  {key: 'limits.matchCacheSize', kind: 'int', min: 0, max: 10_000_000, help: 'topic-match cache entries'},
  {key: 'limits.matchCacheBytes', kind: 'int', min: 0, max: 2 ** 40, help: 'topic-match cache, bytes (estimated)'},
  {key: 'limits.maxSubscriptionsPerClient', kind: 'int', min: 1, max: 10_000_000, help: 'topic filters per client (SUBACK 0x97 past it)'},
  {key: 'limits.maxSessions', kind: 'int', min: 1, max: 100_000_000, help: 'sessions, connected and offline (CONNACK 0x97 past it)'},
  {key: 'limits.maxRetainedMessages', kind: 'int', min: 0, max: 100_000_000, help: 'retained messages (not retained past it, 0x97)'},
  {key: 'limits.maxRetainedBytes', kind: 'int', min: 0, max: 2 ** 40, help: 'retained messages, topic + payload bytes'},
  {key: 'limits.maxAliasBytes', kind: 'int', min: 0, max: 2 ** 30, help: 'topic-name bytes in one client\'s topic aliases (DISCONNECT 0x97 past it)'},
  {key: 'limits.maxPendingConnects', kind: 'int', min: 1, max: 10_000_000, help: 'sockets not yet CONNECTed (the oldest is closed past it)'},
  {key: 'limits.connectRatePerAddress', kind: 'int', min: 0, max: 1_000_000, help: 'new connections per second per source address (0 = no limit; CONNACK 0x9F past it)'},
  {key: 'limits.maxMemory', kind: 'int', min: 0, max: 2 ** 50, help: 'resident memory ceiling, bytes (0 = none): above it new connections and QoS 1/2 get 0x97 and QoS 0 to slow consumers is shed'},
  {key: 'denySubscribe', kind: 'strings', help: 'topic filters refused on SUBSCRIBE'},
  {key: 'auth.passwordFile', kind: 'optString', env: 'MQTTCTL_PASSWORD_FILE', help: 'Mosquitto password file (mosquitto_passwd or mqttctl passwd); unset = no password checks'},
  {key: 'auth.aclFile', kind: 'optString', env: 'MQTTCTL_ACL_FILE', help: 'Mosquitto ACL file; unset = every client may publish and subscribe to anything'},
  {key: 'auth.allowAnonymous', kind: 'optBool', env: 'MQTTCTL_ALLOW_ANONYMOUS', help: 'accept clients without a user name (unset: true without a password file, false with one)'},
  {key: 'auth.takeOver', kind: 'enum', values: ['same-user', 'any'], help: 'with a password file, who may take over a connected client id: same-user or any'},
  {key: 'auth.credentialCache', kind: 'int', min: 0, max: 10_000_000, help: 'verified logins kept in memory (HMAC-keyed, no password stored); 0 = hash every CONNECT'},
  {key: 'runtime.maxOldSpaceMb', kind: 'int', min: 0, max: 1_048_576, help: 'V8 heap limit of the broker process, MB (node --max-old-space-size; 0 = V8 default); set by plan --write, passed by start, the build launcher and the systemd unit'},
  {key: 'runtime.maxSemiSpaceMb', kind: 'int', min: 0, max: 1_024, help: 'V8 semi-space of the broker process, MB (node --max-semi-space-size; 0 = V8 default)'},
  {key: 'cluster.servers', kind: 'strings', help: 'NATS server URLs (nats://host:4222) joining this broker to a cluster; empty = single process'},
  {key: 'cluster.subjectPrefix', kind: 'string', help: 'first token(s) of the NATS subjects and stream names (letters, digits, - and _, dot-separated)'},
  {key: 'cluster.nodeName', kind: 'optString', env: 'MQTTCTL_NODE_NAME', help: 'this node\'s name in logs, $SYS and its JetStream consumer: keep it across restarts (unset: host name and first listener port, pid when that port is 0)'},
  {key: 'cluster.replicas', kind: 'int', min: 1, max: 5, help: 'JetStream replicas of the cluster\'s streams (retained messages, QoS 1/2 copies for persistent sessions, their filters)'},
  {key: 'cluster.workers', kind: 'int', min: 1, max: 1_024, help: 'broker processes on this host sharing the listening ports'},
  {key: 'persistence.mode', kind: 'enum', values: ['durable', 'none'], env: 'MQTTCTL_PERSISTENCE', help: 'durable: sessions, queued and retained messages kept in <dataDir>/store across restarts; none: memory only'},
  {key: 'persistence.sync', kind: 'enum', values: ['always', 'interval'], env: 'MQTTCTL_PERSISTENCE_SYNC', help: 'always: QoS 1/2 acks wait for fdatasync; interval: for the write only (a power cut loses up to syncInterval ms)'},
  {key: 'persistence.syncInterval', kind: 'int', min: 1, max: 60_000, help: 'sync "interval": longest wait for an fdatasync, ms'},
  {key: 'persistence.compactMb', kind: 'int', min: 1, max: 1_048_576, help: 'journal growth (MB) that starts a compaction'},
  {key: 'persistence.subscriptionsInterval', kind: 'int', min: 1, max: 3_600, help: 'longest delay before subscriptions.json shows a change, seconds'},
]

export function getPath(obj: unknown, key: string): unknown {
  let cur: unknown = obj
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

export function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let cur = obj
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === undefined || cur[part] === null || typeof cur[part] !== 'object') cur[part] = {}
    cur = cur[part] as Record<string, unknown>
  }
  cur[parts[parts.length - 1]] = value
}
