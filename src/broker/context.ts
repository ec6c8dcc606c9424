/**
 * The narrow context the packet handlers depend on (instead of the whole broker): configuration,
 * statistics, log, clock, store, the subscription service, the router, the authorizer, the client
 * registry, outbound delivery and sessions, plus the two broker operations a handler needs.
 * BrokerImpl builds one and hands it to the dispatcher; a test can build its own from fakes.
 */
import type {Authorizer} from './auth/authorizer.js'
import type {Clients} from './clients.js'
import type {Clock} from './clock.js'
import type {Connection} from './connection.js'
import type {Limits} from './limits/limits.js'
import type {Logger} from './log.js'
import type {Message} from './message.js'
import type {Outbound} from './outbound.js'
import type {Store} from './persistence/store.js'
import type {RouteSource, Router} from './router.js'
import type {Sessions} from './sessions/sessions.js'
import type {BrokerStats} from './stats/counters.js'
import type {Subscriptions} from './subscriptions.js'
import type {BrokerConfig} from '../config/index.js'

export interface BrokerContext {
  readonly config: BrokerConfig
  readonly stats: BrokerStats
  readonly logger: Logger
  readonly clock: Clock
  readonly store: Store
  readonly subscriptions: Subscriptions
  readonly router: Router
  readonly authorizer: Authorizer
  readonly clients: Clients
  readonly outbound: Outbound
  readonly sessions: Sessions
  /** Logs at debug level; builds the message only when debug is enabled. */
  logDebug(message: () => string): void
  /**
   * An accepted message: retained (or its retained copy deleted) and routed. The one entry for client
   * PUBLISH, wills and the broker's own. False when refused at a retained-message limit (not routed).
   */
  publish(msg: Message, source?: RouteSource): boolean
  /** Re-arms the connection's keep-alive deadline (after CONNECT). */
  touchConnection(conn: Connection): void
  /** Broker-wide limits: memory ceiling, connection rate, retained messages, fault accounting. */
  readonly limits: Limits
}
