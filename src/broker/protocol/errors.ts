/**
 * The one error type handlers throw. The dispatcher turns it into a CONNACK (before the session is
 * accepted), a DISCONNECT with the reason code (MQTT 5) or a plain close (3.1.1).
 */
import {RC} from './reason-codes.js'

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
