/**
 * Errors to reason codes, in one place: the error type handlers throw (ProtocolError), the mqtt-packet
 * parser's errors, CONNECT refusals (MQTT 5 reason code -> the version's CONNACK) and anything else
 * (an internal error, 0x83). Connection.fail / Connection.refuse are the one place that then closes.
 */
import type {IConnackPacket} from 'mqtt-packet'
import {RC, v3ConnackCode} from './reason-codes.js'

export class ProtocolError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}

export const protocolError = (message: string): ProtocolError => new ProtocolError(RC.PROTOCOL_ERROR, message)
export const malformed = (message: string): ProtocolError => new ProtocolError(RC.MALFORMED_PACKET, message)

/** Reason code for an mqtt-packet parser error message. */
export function parserErrorCode(message: string): number {
  if (message.startsWith('Packet too large')) return RC.PACKET_TOO_LARGE
  if (message === 'Invalid protocol version') return RC.UNSUPPORTED_PROTOCOL_VERSION
  return RC.MALFORMED_PACKET
}

/** The MQTT 5 reason code for whatever a handler threw: its own for a ProtocolError, else 0x83. */
export function reasonCodeOf(err: unknown): number {
  return err instanceof ProtocolError ? err.reasonCode : RC.IMPLEMENTATION_SPECIFIC_ERROR
}

/**
 * The CONNACK refusing a CONNECT with MQTT 5 reason `reason`, in the client's version: MQTT 5 the
 * reason code, 3.1/3.1.1 the nearest return code; undefined when the version is unknown (0).
 */
export function connackRefusal(version: number, reason: number): IConnackPacket | undefined {
  if (version === 5) return {cmd: 'connack', sessionPresent: false, reasonCode: reason}
  if (version === 3 || version === 4) return {cmd: 'connack', sessionPresent: false, returnCode: v3ConnackCode(reason)}
  return undefined
}
