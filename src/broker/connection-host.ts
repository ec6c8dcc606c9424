/**
 * What a connection needs from the broker (BrokerImpl implements it): counters, clock, store, the
 * shared decoder, and the once-per-turn flush. Generic in the connection type so this leaf does not
 * import connection.ts (which imports it).
 */
import type {Clock} from './clock.js'
import type {ConnState} from './conn-state.js'
import type {Decoder} from './decoder.js'
import type {Logger} from './log.js'
import type {Store} from './persistence/store.js'
import type {BrokerStats} from './stats/counters.js'

export interface ConnectionHost<C> {
  readonly stats: BrokerStats
  readonly clock: Clock
  readonly logger: Logger
  readonly store: Store
  readonly decoder: Decoder
  /** Flush cycles so far (read budgets are per cycle). */
  readonly turn: number
  /** limits.maxQueuedBytes: unsent bytes past which the client is not read until it drains. */
  readonly maxQueuedBytes: number
  /** The connection has bytes for this turn's flush. */
  markDirty(conn: C): void
  /** The connection read its budget this turn: it waits for the flush. */
  pauseForTurn(conn: C): void
  /** Room for more QoS 1/2 towards the client (after a write or 'drain'): queued deliveries move into flight. */
  pull(conn: C): void
  /** The connection stops being a client (end() or socket close). */
  connectionEnding(conn: C, prev: ConnState): void
  /** The socket is closed: final clean-up. */
  connectionClosed(conn: C, prev: ConnState): void
  /** A half-closed socket may linger until `at` (clock ms), then it is destroyed. */
  lingerUntil(conn: C, at: number): void
  logDebug(message: () => string): void
  /** A fault while serving one client: counted and logged once per kind. */
  fault(doing: string, who: string, err: unknown): void
}

