/**
 * The broker: wires listeners, connections, the subscription service, the store, sessions, fan-out,
 * the authorizer and stats; builds the narrow context the handlers get (context.ts); owns the
 * once-per-turn flush of dirty connections and the connection deadline wheel (connect timeout,
 * keep alive, close grace).
 */
import type {Server} from 'node:net'
import type {BrokerConfig} from '../config/index.js'
import type {Authorizer} from './auth/authorizer.js'
import type {ReloadReport} from './auth/file-authorizer.js'
import {authorizerFromConfig, isReloadable} from './auth/from-config.js'
import {Clients} from './clients.js'
import {type Clock, systemClock} from './clock.js'
import {ConnState, Paused} from './conn-state.js'
import {type ClientSocket, Connection, type ConnectionHost, type PacketSink} from './connection.js'
import type {BrokerContext} from './context.js'
import {Decoder} from './decoder.js'
import {createDispatcher} from './dispatch.js'
import {Fanout} from './fanout.js'
import {Limits} from './limits/limits.js'
import type {Broker, BrokerOptions, ListeningAddress} from './api.js'
import {listenTcp} from './listeners/tcp.js'
import {listenTls} from './listeners/tls.js'
import {reloadTls} from './listeners/reload-tls.js'
import {listenWs} from './listeners/ws.js'
import {type Logger, silentLogger} from './log.js'
import {type Message, ownMessage} from './message.js'
import {Outbound} from './outbound.js'
import {MemoryStore} from './persistence/memory.js'
import {storeFigures} from './persistence/select.js'
import type {Store} from './persistence/store.js'
import {RC} from './protocol/reason-codes.js'
import type {RouteSource, Router} from './router.js'
import {Sessions} from './sessions/sessions.js'
import {BrokerStats} from './stats/counters.js'
import {Subscriptions} from './subscriptions.js'
import {Deadlines} from './timers.js'

/** Wall-clock bound on close(): sockets still open after it are destroyed (real time, even with an injected clock). */
const SHUTDOWN_GRACE_MS = 2000

function ignoreError(): void {}

export class BrokerImpl implements Broker, ConnectionHost {
  readonly config: BrokerConfig
  readonly stats: BrokerStats
  readonly logger: Logger
  readonly clock: Clock
  readonly store: Store
  readonly authorizer: Authorizer
  readonly subscriptions: Subscriptions
  /** Connected clients by client id. */
  readonly clients: Clients
  /** Every open socket, CONNECTed or not. */
  readonly connections = new Set<Connection>()
  readonly outbound: Outbound
  /** The local router. */
  readonly fanout: Fanout
  /** Where accepted messages go: the fanout, or what BrokerOptions.router wrapped around it. */
  readonly router: Router
  readonly sessions: Sessions
  readonly connDeadlines: Deadlines<Connection>
  /** Frames and decodes every connection's bytes (one shared parser, no per-connection parser). */
  readonly decoder: Decoder
  /** What the handlers see of the broker. */
  readonly context: BrokerContext
  readonly maxQueuedBytes: number
  /** Broker-wide limits: memory ceiling, connect rate, retained bytes, fault accounting (limits/limits.ts). */
  readonly limits: Limits
  /** Sockets that have not sent CONNECT yet, oldest first (bounded by limits.maxPendingConnects). */
  readonly #pending = new Set<Connection>()
  readonly #sink: PacketSink
  #dirty: Connection[] = []
  /** Flush cycles so far (read budgets are per cycle). */
  turn = 1
  #budgetPaused: Connection[] = []
  #flushScheduled = false
  readonly #flush = (): void => this.flushAll()
  #servers: Server[] = []
  /** TLS and wss listeners, for reload(). */
  #tlsServers: Array<{server: Server; index: number}> = []
  #acceptedThisTurn = 0
  #acceptBacklog: ClientSocket[] = []
  #acceptResetScheduled = false
  #closing: Promise<void> | undefined
  #listening = false

  constructor(config: BrokerConfig, options: BrokerOptions = {}) {
    this.config = config
    const stats = (this.stats = options.stats ?? new BrokerStats())
    const logger = (this.logger = options.logger ?? silentLogger)
    const clock = (this.clock = options.clock ?? systemClock)
    const store = (this.store = options.store ?? new MemoryStore())
    stats.storeFigures = () => storeFigures(store)
    const authorizer = (this.authorizer = options.authorizer ?? authorizerFromConfig(config, {clock, logger, counters: stats}))
    this.maxQueuedBytes = config.limits.maxQueuedBytes
    stats.maxConnections = config.maxConnections
    const logDebug = (message: () => string): void => this.logDebug(message)
    const subscriptions = (this.subscriptions = new Subscriptions({store, stats, matchCacheSize: config.limits.matchCacheSize, matchCacheBytes: config.limits.matchCacheBytes}))
    const clients = (this.clients = new Clients({stats, clock, logger, maxConnections: config.maxConnections}))
    const limits = (this.limits = new Limits(config.limits, {stats, store, clock, logger}))
    const outbound = (this.outbound = new Outbound({limits: config.limits, overload: limits.overload, stats, store, clock, clients: clients.byId, authorizer}))
    const fanout = (this.fanout = new Fanout({
      batchSize: config.forwardBatchSize,
      stats,
      subscriptions,
      outbound,
      isOnline: (clientId) => clients.byId.has(clientId),
      flush: () => this.flushAll(),
      denySubscribe: config.denySubscribe,
      onFault: (clientId, err) => {
        const conn = clients.get(clientId)
        if (conn !== undefined) conn.internalError('delivering to', err)
        else limits.fault('delivering to', clientId, err)
      },
    }))
    this.router = options.router?.(fanout) ?? fanout
    const publish = (msg: Message, source?: RouteSource): boolean => this.publishMessage(msg, source)
    const sessions = (this.sessions = new Sessions({
      store,
      stats,
      clock,
      logger,
      subscriptions,
      outbound,
      publish,
      redeliverShared: (d, leaving) => fanout.redeliverShared(d, leaving),
      logDebug,
    }))
    this.connDeadlines = new Deadlines(
      (c, now) => this.#connectionDue(c, now),
      clock,
      (err, c) => {
        logger.error(`Internal error in the connection timer of ${c.clientId || c.remote}: ${(err as Error)?.stack ?? err}`)
        c.destroy()
      },
    )
    this.decoder = new Decoder(config.limits.maxPacketSize)
    this.context = {
      config,
      stats,
      logger,
      clock,
      store,
      subscriptions,
      router: this.router,
      authorizer,
      clients,
      outbound,
      sessions,
      logDebug,
      publish,
      touchConnection: (conn) => this.touchConnection(conn),
      limits,
    }
    this.#sink = createDispatcher(this.context)
  }

  async listen(): Promise<ListeningAddress[]> {
    if (this.#listening) throw new Error('broker is already listening')
    if (this.#closing) throw new Error('broker is closed')
    this.#listening = true
    await this.store.open()
    this.#restoreSubscriptions()
    const addresses: ListeningAddress[] = []
    const onSocket = (socket: ClientSocket): void => this.accept(socket)
    try {
      for (const [index, l] of this.config.listeners.entries()) {
        const {server, port} = l.websocket
          ? await listenWs(l, onSocket, {maxPayload: this.config.limits.maxPacketSize + 5, where: `listeners[${index}].tls`})
          : l.tls
            ? await listenTls(l, onSocket)
            : await listenTcp(l, onSocket)
        this.#servers.push(server)
        if (l.tls) this.#tlsServers.push({server, index})
        addresses.push({host: l.host, port, tls: Boolean(l.tls), ...(l.websocket ? {websocket: true} : {})})
      }
    } catch (err) {
      // Back to the state before listen(): no server, no restored subscription, the store closed.
      await Promise.all(this.#servers.map((s) => new Promise((r) => s.close(r))))
      this.#servers = []
      this.#tlsServers = []
      this.#unrestoreSubscriptions()
      await this.store.close()
      this.#listening = false
      throw err
    }
    this.stats.startedAt = this.clock.now()
    this.limits.start()
    for (const a of addresses) this.logger.info(`Listening on ${a.host}:${a.port}${a.websocket ? (a.tls ? ' (WebSocket over TLS)' : ' (WebSocket)') : a.tls ? ' (TLS)' : ''}`)
    if (isReloadable(this.authorizer)) this.logger.info(`Auth: ${this.authorizer.describe()}`)
    return addresses
  }

  /** SIGHUP: re-read the password file, ACL file and TLS certificates; connections stay up. */
  reload(): ReloadReport {
    const report: ReloadReport = isReloadable(this.authorizer) ? this.authorizer.reload() : {ok: true, lines: []}
    for (const {server, index} of this.#tlsServers) {
      const r = reloadTls(server, this.config.listeners[index], index)
      report.ok &&= r.ok
      report.lines.push(r.line)
    }
    for (const line of report.lines) (line.startsWith('kept ') ? this.logger.warn : this.logger.info)(`Reload: ${line}`)
    return report
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const servers = this.#servers
    this.#servers = []
    this.limits.stop()
    const stopped = Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    for (const s of this.#acceptBacklog) s.destroy()
    this.#acceptBacklog = []
    const open = [...this.connections]
    const closed = Promise.all(open.map((c) => (c.socket.destroyed ? undefined : new Promise((r) => c.socket.once('close', r)))))
    for (const c of open) {
      c.normalDisconnect = true // shutting down is not the client's failure: no wills
      if (c.connected && c.v5) c.disconnect(RC.SERVER_SHUTTING_DOWN)
      else c.end()
    }
    this.flushAll()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS)))])
    clearTimeout(timer)
    // Lingering sockets: destroyed, and their 'close' (session detach, which writes to the store)
    // runs before the store is closed.
    const lingering = [...this.connections]
    const gone = Promise.all(lingering.map((c) => (c.socket.closed ? undefined : new Promise((r) => c.socket.once('close', r)))))
    for (const c of lingering) c.destroy()
    await gone
    await stopped
    this.connDeadlines.clear()
    this.sessions.deadlines.clear()
    await this.store.close()
    this.logger.info('Broker stopped')
  }

  publish(topic: string, payload: Buffer | string, options: {qos?: 0 | 1 | 2; retain?: boolean} = {}): void {
    this.publishMessage({
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      expiresAt: 0,
    })
  }

  clientCount(): number {
    return this.clients.size
  }

  /**
   * Retain (store, replace, or delete on an empty payload [MQTT-3.3.1-10]) and route. False (and not
   * routed) when a retained message is refused at limits.maxRetainedMessages / maxRetainedBytes.
   */
  publishMessage(msg: Message, source?: RouteSource): boolean {
    if (msg.retain) {
      if (msg.payload.length === 0) {
        this.limits.retainedDeleted(msg.topic)
        this.store.deleteRetained(msg.topic)
      } else if (!this.limits.admitRetained(msg)) {
        return false
      } else {
        ownMessage(msg) // retained for long: its own bytes, not the read chunk's
        this.store.setRetained({
          topic: msg.topic,
          payload: msg.payload,
          qos: msg.qos,
          properties: msg.properties as Record<string, unknown> | undefined,
          raw: msg.raw,
          expiresAt: msg.expiresAt === 0 ? undefined : msg.expiresAt,
        })
      }
      this.stats.retainedMessages = this.store.retainedCount
    }
    this.router.route(msg, source)
    return true
  }

  /** A fault while serving one client: counted, logged once per kind (limits/limits.ts). */
  fault(doing: string, who: string, err: unknown): void {
    this.limits.fault(doing, who, err)
  }

  /** The connection's CONNECT was accepted: it no longer counts against limits.maxPendingConnects. */
  connected(conn: Connection): void {
    if (this.#pending.delete(conn)) this.stats.pendingConnects = this.#pending.size
  }

  pull(conn: Connection): void {
    this.outbound.pull(conn)
  }

  lingerUntil(conn: Connection, at: number): void {
    this.connDeadlines.schedule(conn, at)
  }

  markDirty(conn: Connection): void {
    this.#dirty.push(conn)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flush)
    }
  }

  /** One write per dirty connection (everything it was sent this turn); readers past their budget read again. */
  flushAll(): void {
    this.#flushScheduled = false
    this.turn++
    const dirty = this.#dirty
    this.#dirty = []
    for (const conn of dirty) conn.flush()
    if (this.#budgetPaused.length > 0) {
      const paused = this.#budgetPaused
      this.#budgetPaused = []
      for (const conn of paused) conn.resumeReading(Paused.Budget)
    }
  }

  /** A connection read its budget this turn: it waits for the flush. */
  pauseForTurn(conn: Connection): void {
    if (conn.paused & Paused.Budget) return
    conn.pauseReading(Paused.Budget)
    this.#budgetPaused.push(conn)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flush)
    }
  }

  /** After CONNECT: the keep-alive deadline (1.5 x keep alive [MQTT-3.1.2-24]). */
  touchConnection(conn: Connection): void {
    this.connected(conn)
    if (conn.keepAliveMs > 0) this.connDeadlines.schedule(conn, conn.lastActivity + conn.keepAliveMs)
    else this.connDeadlines.cancel(conn)
  }

  /** The connection stops being a client (end() or socket close): registry, will, session. */
  connectionEnding(conn: Connection, prev: ConnState): void {
    if (prev !== ConnState.Connected) return
    this.clients.remove(conn)
    this.sessions.detach(conn)
    this.logDebug(() => `Client ${conn.clientId} disconnected${conn.normalDisconnect ? '' : ' (abnormal)'}`)
  }

  /** The socket is closed: final clean-up. */
  connectionClosed(conn: Connection, prev: ConnState): void {
    this.connections.delete(conn)
    if (this.#pending.delete(conn)) this.stats.pendingConnects = this.#pending.size
    this.connDeadlines.cancel(conn)
    if (prev !== ConnState.Closed) this.connectionEnding(conn, prev)
  }

  logDebug(message: () => string): void {
    if (this.logger.enabled('debug')) this.logger.debug(message())
  }

  /**
   * A new client socket: from a listener, or any Duplex with the socket's events (in-memory pairs in
   * tests, WebSocket streams). ioEntries: at most this many new sockets start per event-loop turn;
   * the rest wait a turn.
   */
  accept(socket: ClientSocket): void {
    if (this.#closing) {
      socket.destroy()
      return
    }
    if (this.#acceptedThisTurn >= this.config.ioEntries) {
      // Until the Connection owns it, an 'error' must find a listener, or it is thrown as an uncaught
      // exception. Defensive: today a waiting TCP socket is paused (no read, no write, so no error) and
      // Node's TLS server keeps its own listener on every TLSSocket, which swallows errors after the
      // handshake; this keeps it so should either change.
      if (socket.listenerCount('error') === 0) socket.on('error', ignoreError)
      this.#acceptBacklog.push(socket)
      this.#scheduleAcceptReset()
      return
    }
    this.#acceptedThisTurn++
    this.#scheduleAcceptReset()
    this.#start(socket)
  }

  #scheduleAcceptReset(): void {
    if (this.#acceptResetScheduled) return
    this.#acceptResetScheduled = true
    setImmediate(() => {
      this.#acceptResetScheduled = false
      this.#acceptedThisTurn = 0
      const backlog = this.#acceptBacklog
      this.#acceptBacklog = []
      for (const s of backlog) this.accept(s)
    })
  }

  #start(socket: ClientSocket): void {
    socket.off('error', ignoreError)
    if (socket.destroyed) return
    const conn = new Connection(this, socket, this.#sink)
    this.connections.add(conn)
    // Sockets that have not sent CONNECT are bounded: past the limit the oldest goes, so a real
    // client arriving behind thousands of silent sockets still connects at once.
    if (this.#pending.size >= this.config.limits.maxPendingConnects) {
      const oldest: Connection = this.#pending.values().next().value!
      this.#pending.delete(oldest)
      this.limits.reached()
      this.logDebug(() => `Closing ${oldest.remote}: no CONNECT yet and limits.maxPendingConnects reached`)
      oldest.destroy()
    }
    this.#pending.add(conn)
    this.stats.pendingConnects = this.#pending.size
    this.connDeadlines.schedule(conn, conn.lastActivity + this.config.limits.connectTimeout * 1000)
    socket.resume()
  }

  #connectionDue(conn: Connection, now: number): void {
    if (conn.state === ConnState.Closed) {
      conn.destroy() // the peer did not close after our end(): no lingering sockets
      return
    }
    if (conn.state === ConnState.Connecting || conn.state === ConnState.Authenticating) {
      this.logDebug(() => `Client ${conn.remote} sent no CONNECT (or was not authenticated) within ${this.config.limits.connectTimeout} s`)
      conn.destroy()
      return
    }
    if (conn.keepAliveMs === 0) return
    const deadline = conn.lastActivity + conn.keepAliveMs
    if (deadline > now) {
      this.connDeadlines.schedule(conn, deadline)
      return
    }
    this.logDebug(() => `Client ${conn.clientId} has exceeded timeout, disconnecting.`)
    conn.disconnect(RC.KEEP_ALIVE_TIMEOUT)
  }

  /** A store with persisted sessions: their subscriptions go back into the index. */
  #restoreSubscriptions(): void {
    const now = this.clock.now()
    let orphans = 0
    let queued = 0
    for (const session of this.store.sessions()) {
      this.subscriptions.restore(session)
      if (session.disconnectedAt === 0) session.disconnectedAt = now
      this.sessions.restored(session)
      queued += session.queue?.length ?? 0
      orphans++
    }
    this.stats.messagesQueued = queued
    // Assigned, not added: nobody is connected yet, so every stored session is an orphan.
    this.stats.sessionsOrphan = orphans
    this.stats.sessionsTotal = this.store.sessionCount
    this.stats.retainedMessages = this.store.retainedCount
  }

  /** A failed listen(): the restored subscriptions leave the index again. */
  #unrestoreSubscriptions(): void {
    for (const session of this.store.sessions()) {
      this.subscriptions.unrestore(session)
      this.sessions.deadlines.cancel(session)
    }
    this.stats.sessionsOrphan = 0
  }
}
