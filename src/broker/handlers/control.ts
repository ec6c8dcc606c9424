/** PINGREQ, DISCONNECT and AUTH: the small ones. */
import type {IAuthPacket, IDisconnectPacket} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {BrokerContext} from '../context.js'
import {ProtocolError, protocolError} from '../protocol/errors.js'
import {RC} from '../protocol/reason-codes.js'

const PINGRESP = Buffer.from([0xd0, 0x00])

export function handlePingreq(conn: Connection): void {
  conn.write(PINGRESP)
}

/** DISCONNECT: normal close, no will; MQTT 5 0x04 asks for the will anyway, and may change the session expiry. */
export function handleDisconnect(ctx: BrokerContext, conn: Connection, packet: IDisconnectPacket): void {
  if (conn.v5) {
    const expiry = packet.properties?.sessionExpiryInterval
    if (expiry !== undefined) {
      // [MQTT-3.14.2-2] zero at CONNECT cannot become non-zero at DISCONNECT.
      if (conn.session!.expiryInterval === 0 && expiry !== 0) {
        throw new ProtocolError(RC.PROTOCOL_ERROR, 'session expiry set at DISCONNECT after 0 at CONNECT')
      }
      conn.session!.expiryInterval = Math.min(expiry, ctx.config.limits.maxSessionExpiry)
      ctx.store.touchSession(conn.session!)
    }
  }
  conn.normalDisconnect = !(conn.v5 && packet.reasonCode === RC.DISCONNECT_WITH_WILL)
  conn.end()
}

/** AUTH: no CONNECT here carries an authentication method, so a client must not send AUTH [MQTT-4.12.0-7]: a protocol error. */
export function handleAuth(_conn: Connection, _packet: IAuthPacket): void {
  throw protocolError('AUTH without an authentication method')
}
