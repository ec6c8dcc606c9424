/**
 * The broker's public types (re-exported by ./index.ts): a leaf module, so broker.ts can implement
 * them without importing index.ts (which imports broker.ts).
 */
import type {BrokerConfig} from '../config/index.js'
import type {Authorizer} from './auth/authorizer.js'
import type {ReloadReport} from './auth/file-authorizer.js'
import type {Clock} from './clock.js'
import type {Logger} from './log.js'
import type {Store} from './persistence/store.js'
import type {Router} from './router.js'
import type {BrokerStats} from './stats/counters.js'

export interface ListeningAddress {
  host: string
  port: number
  tls: boolean
  /** MQTT over WebSocket (ws://, or wss:// with tls). */
  websocket?: boolean
}

export interface Broker {
  readonly config: BrokerConfig
  readonly stats: BrokerStats
  readonly logger: Logger
  /** Opens every configured listener; port 0 resolves to the real port. On error, closes what it opened and rejects with the original error. */
  listen(): Promise<ListeningAddress[]>
  /** Graceful: stop accepting, DISCONNECT 0x8B to MQTT 5 clients, flush, close sockets, clear timers. */
  close(): Promise<void>
  /** Publishes from the broker itself (e.g. $SYS topics). */
  publish(topic: string, payload: Buffer | string, options?: {qos?: 0 | 1 | 2; retain?: boolean}): void
  /** Live (CONNECTed) clients. */
  clientCount(): number
  /** SIGHUP: re-reads the password file, ACL file and TLS certificates; a file that cannot be used is kept as it was (the report says why). */
  reload(): ReloadReport
}

export interface BrokerOptions {
  logger?: Logger
  stats?: BrokerStats
  store?: Store
  /** Time for every deadline, expiry, will delay, keep-alive and statistic (default: the system clock). */
  clock?: Clock
  /** Authentication and access control (default AllowAll: everyone, everything, no checks on the hot path). */
  authorizer?: Authorizer
  /** Wraps the local router (the fan-out), e.g. to also route to other cluster nodes. */
  router?: (local: Router) => Router
}
