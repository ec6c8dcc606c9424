/**
 * The router seam: where a message goes once it is accepted (retained and counted). The local router
 * is the Fanout (this process's subscribers); a cluster router wraps it and also hands the message to
 * the other nodes with interest.
 */
import type {Paused} from './conn-state.js'
import type {Message} from './message.js'

/** The publishing connection, as far as routing needs it: paused while queued broadcasts back up. */
export interface RouteSource {
  readonly paused: number
  pauseReading(reason: Paused): void
  resumeReading(reason: Paused): void
}

export interface Router {
  route(msg: Message, source?: RouteSource): void
}
