/**
 * The broker's object graph: the services with their explicit dependencies (SEAMS.md) and the
 * narrow context the handlers get (context.ts), built once per broker from its configuration and
 * BrokerOptions (injected clock, store, authorizer, router, stats and logger, or the defaults).
 */
import type {BrokerConfig} from '../config/index.js'
import type {BrokerOptions} from './api.js'
import type {Authorizer} from './auth/authorizer.js'
import {authorizerFromConfig} from './auth/from-config.js'
import {Clients} from './clients.js'
import {type Clock, systemClock} from './clock.js'
import type {Connection} from './connection.js'
import type {BrokerContext} from './context.js'
import {Fanout} from './fanout.js'
import {Limits} from './limits/limits.js'
import {type Logger, silentLogger} from './log.js'
import type {Message} from './message.js'
import {Outbound} from './outbound.js'
import {MemoryStore} from './persistence/memory.js'
import {storeFigures} from './persistence/select.js'
import type {Store} from './persistence/store.js'
import type {RouteSource, Router} from './router.js'
import {Sessions} from './sessions/sessions.js'
import {BrokerStats} from './stats/counters.js'
import {Subscriptions} from './subscriptions.js'

/** What the services call back into the broker for (BrokerImpl implements it). */
export interface WiringHost {
  flushAll(): void
  publishMessage(msg: Message, source?: RouteSource): boolean
  touchConnection(conn: Connection): void
  logDebug(message: () => string): void
}

export interface BrokerServices {
  stats: BrokerStats
  logger: Logger
  clock: Clock
  store: Store
  authorizer: Authorizer
  subscriptions: Subscriptions
  clients: Clients
  limits: Limits
  outbound: Outbound
  /** The local router. */
  fanout: Fanout
  /** Where accepted messages go: the fanout, or what BrokerOptions.router wrapped around it. */
  router: Router
  sessions: Sessions
  context: BrokerContext
}

export function wireServices(config: BrokerConfig, options: BrokerOptions, host: WiringHost): BrokerServices {
  const stats = options.stats ?? new BrokerStats()
  const logger = options.logger ?? silentLogger
  const clock = options.clock ?? systemClock
  const store = options.store ?? new MemoryStore()
  stats.storeFigures = () => storeFigures(store)
  const authorizer = options.authorizer ?? authorizerFromConfig(config, {clock, logger, counters: stats})
  stats.maxConnections = config.maxConnections
  const logDebug = (message: () => string): void => host.logDebug(message)
  const subscriptions = new Subscriptions({store, stats, matchCacheSize: config.limits.matchCacheSize, matchCacheBytes: config.limits.matchCacheBytes})
  const clients = new Clients({stats, clock, logger, maxConnections: config.maxConnections})
  const limits = new Limits(config.limits, {stats, store, clock, logger})
  const outbound = new Outbound({limits: config.limits, overload: limits.overload, stats, store, clock, clients: clients.byId, authorizer})
  const fanout = new Fanout({
    batchSize: config.forwardBatchSize,
    stats,
    subscriptions,
    outbound,
    isOnline: (clientId) => clients.byId.has(clientId),
    flush: () => host.flushAll(),
    denySubscribe: config.denySubscribe,
    onFault: (clientId, err) => {
      const conn = clients.get(clientId)
      if (conn !== undefined) conn.internalError('delivering to', err)
      else limits.fault('delivering to', clientId, err)
    },
  })
  const router = options.router?.(fanout) ?? fanout
  const publish = (msg: Message, source?: RouteSource): boolean => host.publishMessage(msg, source)
  const sessions = new Sessions({
    store,
    stats,
    clock,
    logger,
    subscriptions,
    outbound,
    publish,
    redeliverShared: (d, leaving) => fanout.redeliverShared(d, leaving),
    logDebug,
  })
  const context: BrokerContext = {
    config,
    stats,
    logger,
    clock,
    store,
    subscriptions,
    router,
    authorizer,
    clients,
    outbound,
    sessions,
    logDebug,
    publish,
    touchConnection: (conn) => host.touchConnection(conn),
    limits,
  }
  return {stats, logger, clock, store, authorizer, subscriptions, clients, limits, outbound, fanout, router, sessions, context}
}
