/**
 * What a connection does with a frame it cannot accept (the decoder's onParseError / onViolation):
 * counted as a protocol error; before CONNECT is accepted the CONNECT is refused in the client's
 * version where one fits, after it the connection fails with the reason (MQTT 5 DISCONNECT, 3.1.1
 * close). Error paths only: nothing here runs for a good packet.
 */
import {ConnState} from './conn-state.js'
import {parserErrorCode} from './protocol/errors.js'
import {RC} from './protocol/reason-codes.js'
import type {Violation} from './protocol/validate.js'

/** What these need of a connection (Connection implements it). */
export interface FailingConnection {
  readonly state: ConnState
  readonly clientId: string
  readonly remote: string
  readonly host: {readonly stats: {protocolErrors: number}; logDebug(message: () => string): void}
  refuse(version: number, reasonCode: number, message: string): void
  fail(reasonCode: number, message?: string): void
}

/** mqtt-packet could not parse a frame. */
export function onParseError(conn: FailingConnection, err: Error, cmd: string | undefined, protocolVersion: number): void {
  if (conn.state === ConnState.Closed) return
  const reason = parserErrorCode(err.message)
  conn.host.stats.protocolErrors++
  if (conn.state === ConnState.Connecting) {
    // A CONNECT we could not read: answer in the client's version when it got that far (3.1.1 has
    // a return code only for an unsupported protocol level).
    const version = cmd === 'connect' && protocolVersion === 5 ? 5 : reason === RC.UNSUPPORTED_PROTOCOL_VERSION ? 4 : 0
    conn.refuse(version, reason, err.message)
    return
  }
  conn.fail(reason, err.message)
}

/** A parsed frame that breaks a rule of the protocol (protocol/validate.ts). */
export function onViolation(conn: FailingConnection, v: Violation, cmd: string, protocolVersion: number): void {
  if (conn.state === ConnState.Closed) return
  conn.host.stats.protocolErrors++
  const message = `${v.message} (${cmd})`
  if (conn.state === ConnState.Connecting) {
    // MQTT 5: CONNACK with the reason; 3.1/3.1.1: close without one (no return code fits) [MQTT-3.1.4-1].
    conn.refuse(protocolVersion === 5 ? 5 : 0, v.reasonCode, message)
    return
  }
  conn.host.logDebug(() => `Client ${conn.clientId || conn.remote}: ${message}`)
  conn.fail(v.reasonCode, message)
}
