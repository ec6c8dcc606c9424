/**
 * The broker: listen (restore, listeners), reload, graceful close; the connections' host (the
 * once-per-turn flush of dirty connections, read budgets, the connection deadline wheel: connect
 * timeout, keep alive, close grace); retain-and-route of every accepted message. Its services and
 * the handlers' context are built in wiring.ts, new sockets admitted in admission.ts.
 */
import type {BrokerConfig} from '../config/index.js'
import {Admission} from './admission.js'
import type {Broker, BrokerOptions, ListeningAddress} from './api.js'
import type {Authorizer} from './auth/authorizer.js'
import type {ReloadReport} from './auth/file-authorizer.js'
import {isReloadable} from './auth/from-config.js'
import type {ClientSocket} from './client-socket.js'
import type {Clients} from './clients.js'
import type {Clock} from './clock.js'
import {ConnState, Paused} from './conn-state.js'
import {Connection, type PacketSink} from './connection.js'
import type {ConnectionHost} from './connection-host.js'
import type {BrokerContext} from './context.js'
import {Decoder} from './decoder.js'
import {createDispatcher} from './dispatch.js'
import type {Fanout} from './fanout.js'
import type {Limits} from './limits/limits.js'
import {Servers} from './listeners/servers.js'
import type {Logger} from './log.js'
import {type Message, ownMessage} from './message.js'
import type {Outbound} from './outbound.js'
import type {Store} from './persistence/store.js'
import {RC} from './protocol/reason-codes.js'
import {restoreSessions, undoRestore} from './restore.js'
import type {RouteSource, Router} from './router.js'
import type {Sessions} from './sessions/sessions.js'
import type {BrokerStats} from './stats/counters.js'
import type {Subscriptions} from './subscriptions.js'
import {Deadlines} from './timers.js'
import {wireServices} from './wiring.js'

/** Wall-clock bound on close(): sockets still open after it are destroyed (real time, even with an injected clock). */
const SHUTDOWN_GRACE_MS = 2000

export class BrokerImpl implements Broker, ConnectionHost<Connection> {
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
  /** New sockets: ioEntries per turn, and those without CONNECT bounded by limits.maxPendingConnects. */
  readonly #admission: Admission<Connection>
  readonly #sink: PacketSink
  #dirty: Connection[] = []
  /** Flush cycles so far (read budgets are per cycle). */
  turn = 1
  #budgetPaused: Connection[] = []
  #flushScheduled = false
  readonly #flush = (): void => this.flushAll()
  readonly #servers = new Servers()
  #closing: Promise<void> | undefined
  #listening = false

  constructor(config: BrokerConfig, options: BrokerOptions = {}) {
    this.config = config
    this.maxQueuedBytes = config.limits.maxQueuedBytes
    const services = wireServices(config, options, this)
    ;({stats: this.stats, logger: this.logger, clock: this.clock, store: this.store, authorizer: this.authorizer} = services)
    ;({subscriptions: this.subscriptions, clients: this.clients, limits: this.limits, outbound: this.outbound} = services)
    ;({fanout: this.fanout, router: this.router, sessions: this.sessions, context: this.context} = services)
    const {stats, logger, clock, limits} = services
    const logDebug = this.context.logDebug
    this.connDeadlines = new Deadlines(
      (c, now) => this.#connectionDue(c, now),
      clock,
      (err, c) => {
        logger.error(`Internal error in the connection timer of ${c.clientId || c.remote}: ${(err as Error)?.stack ?? err}`)
        c.destroy()
      },
    )
    this.decoder = new Decoder(config.limits.maxPacketSize)
    this.#sink = createDispatcher(this.context)
    this.#admission = new Admission({
      ioEntries: config.ioEntries,
      maxPendingConnects: config.limits.maxPendingConnects,
      stats,
      reached: () => limits.reached(),
      logDebug,
      open: (socket) => this.#open(socket),
    })
  }

  async listen(): Promise<ListeningAddress[]> {
    if (this.#listening) throw new Error('broker is already listening')
    if (this.#closing) throw new Error('broker is closed')
    this.#listening = true
    await this.store.open()
    const restore = {store: this.store, subscriptions: this.subscriptions, sessions: this.sessions, stats: this.stats}
    restoreSessions(restore, this.clock.now())
    let addresses: ListeningAddress[]
    try {
      addresses = await this.#servers.open(this.config.listeners, this.config.limits.maxPacketSize, (socket) => this.accept(socket))
    } catch (err) {
      // Back to the state before listen(): no server (Servers closed them), no restored subscription, the store closed.
      undoRestore(restore)
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
    const tls = this.#servers.reloadTls(this.config.listeners)
    report.ok &&= tls.ok
    report.lines.push(...tls.lines)
    for (const line of report.lines) (line.startsWith('kept ') ? this.logger.warn : this.logger.info)(`Reload: ${line}`)
    return report
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.limits.stop()
    const stopped = this.#servers.close()
    this.#admission.close()
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
    this.#admission.settled(conn)
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
    this.#admission.settled(conn)
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
    this.#admission.accept(socket)
  }

  /** An admitted socket becomes a connection, with its connect-timeout deadline. */
  #open(socket: ClientSocket): Connection {
    const conn = new Connection(this, socket, this.#sink)
    this.connections.add(conn)
    this.connDeadlines.schedule(conn, conn.lastActivity + this.config.limits.connectTimeout * 1000)
    return conn
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
}
