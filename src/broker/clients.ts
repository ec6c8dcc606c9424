/**
 * The client registry: connected clients by client id, the connection limit, and the live-connection
 * statistics. The one place that adds a client to the registry or takes it out.
 */
import type {Clock} from './clock.js'
import type {Connection} from './connection.js'
import type {Logger} from './log.js'
import type {BrokerStats} from './stats/counters.js'

export interface ClientsDeps {
  readonly stats: BrokerStats
  readonly clock: Clock
  readonly logger: Logger
  readonly maxConnections: number
}

export class Clients {
  readonly #map = new Map<string, Connection>()
  /** The registry itself, read-only: the hot path (delivery) looks clients up here without a call frame. */
  readonly byId: ReadonlyMap<string, Connection> = this.#map
  readonly #deps: ClientsDeps
  #lastLimitLog = -Infinity
  #limitHits = 0

  constructor(deps: ClientsDeps) {
    this.#deps = deps
  }

  get size(): number {
    return this.#map.size
  }

  get(clientId: string): Connection | undefined {
    return this.#map.get(clientId)
  }

  has(clientId: string): boolean {
    return this.#map.has(clientId)
  }

  values(): IterableIterator<Connection> {
    return this.#map.values()
  }

  /** No room for another client (a take-over of a live client id does not add one). */
  get full(): boolean {
    return this.#map.size >= this.#deps.maxConnections
  }

  /** A CONNECT refused for the connection limit: counted, logged at most once a second. */
  refusedForLimit(): void {
    const {stats, clock, logger} = this.#deps
    stats.connectionsRefused++
    this.#limitHits++
    const now = clock.now()
    if (now - this.#lastLimitLog < 1000) return // one line a second under a connection storm
    this.#lastLimitLog = now
    logger.warn(`Connection limit reached: ${this.#map.size} / ${this.#deps.maxConnections} (${this.#limitHits} refused)`)
    this.#limitHits = 0
  }

  /** CONNECT accepted: `conn` is the client id's connection now. */
  add(conn: Connection): void {
    const stats = this.#deps.stats
    this.#map.set(conn.clientId, conn)
    stats.connectionsLive = this.#map.size
    stats.connectionsTotal++
  }

  /** The connection stops being a client; false when another connection holds its id (taken over). */
  remove(conn: Connection): boolean {
    if (this.#map.get(conn.clientId) !== conn) return false
    this.#map.delete(conn.clientId)
    this.#deps.stats.connectionsLive = this.#map.size
    return true
  }
}
