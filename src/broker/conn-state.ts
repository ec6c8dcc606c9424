/** Connection state and pause reasons: a leaf module, so handlers and services need not import connection.ts at run time. */

export const enum ConnState {
  /** Socket open, no CONNECT accepted yet. */
  Connecting = 0,
  /** CONNECT accepted (CONNACK may still wait for the store, see Connection.sendAfterDurable). */
  Connected = 1,
  /** Ending or ended: nothing more is read or dispatched. */
  Closed = 2,
  /** CONNECT read, the authorizer has not answered yet: the socket is not read meanwhile. */
  Authenticating = 3,
}

/**
 * Why reading is paused (bit mask): the per-turn read budget, queued broadcasts (fanout.ts), the
 * client not reading what we write (past limits.maxQueuedBytes unsent, its bytes are not read until
 * the socket drains), or an authentication in progress.
 */
export const enum Paused {
  Budget = 1,
  Fanout = 2,
  Backpressure = 4,
  Auth = 8,
}
