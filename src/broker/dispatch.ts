/**
 * packet.cmd -> handler. Protocol state rules live here, once, before any handler runs:
 * CONNECT first [MQTT-3.1.0-1], CONNECT only once [MQTT-3.1.0-2], and client-only packet types.
 * Handlers throw ProtocolError; this is the one place that catches what a handler throws and hands it
 * to the connection's one close path (Connection.fail) with the reason code protocol/errors.ts maps.
 */
import type {Packet} from 'mqtt-packet'
import {ConnState} from './conn-state.js'
import type {Connection, PacketSink} from './connection.js'
import type {BrokerContext} from './context.js'
import {handlePuback, handlePubcomp, handlePubrec, handlePubrel} from './handlers/acks.js'
import {handleConnect} from './handlers/connect.js'
import {handleAuth, handleDisconnect, handlePingreq} from './handlers/control.js'
import {handlePublish} from './handlers/publish.js'
import {handleSubscribe} from './handlers/subscribe.js'
import {handleUnsubscribe} from './handlers/unsubscribe.js'
import {ProtocolError} from './protocol/errors.js'
import {RC} from './protocol/reason-codes.js'

/** The packet sink every connection of the broker is given. */
export function createDispatcher(ctx: BrokerContext): PacketSink {
  return (conn, packet) => dispatch(ctx, conn, packet)
}

export function dispatch(ctx: BrokerContext, conn: Connection, packet: Packet): void {
  try {
    if (conn.state === ConnState.Connecting) {
      // [MQTT-3.1.0-1] the first packet from the client must be CONNECT.
      if (packet.cmd !== 'connect') throw new ProtocolError(RC.PROTOCOL_ERROR, `first packet was ${packet.cmd}, not connect`)
      handleConnect(ctx, conn, packet)
      return
    }
    switch (packet.cmd) {
      case 'publish':
        handlePublish(ctx, conn, packet)
        break
      case 'puback':
        handlePuback(ctx, conn, packet)
        break
      case 'pubrec':
        handlePubrec(ctx, conn, packet)
        break
      case 'pubrel':
        handlePubrel(ctx, conn, packet)
        break
      case 'pubcomp':
        handlePubcomp(ctx, conn, packet)
        break
      case 'subscribe':
        handleSubscribe(ctx, conn, packet)
        break
      case 'unsubscribe':
        handleUnsubscribe(ctx, conn, packet)
        break
      case 'pingreq':
        handlePingreq(conn)
        break
      case 'disconnect':
        handleDisconnect(ctx, conn, packet)
        break
      case 'auth':
        handleAuth(conn, packet)
        break
      case 'connect':
        // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
        throw new ProtocolError(RC.PROTOCOL_ERROR, 'second CONNECT')
      default:
        // connack, suback, unsuback, pingresp: server-to-client packets.
        throw new ProtocolError(RC.PROTOCOL_ERROR, `unexpected ${packet.cmd} from client`)
    }
  } catch (err) {
    if (err instanceof ProtocolError) {
      ctx.stats.protocolErrors++
      ctx.logDebug(() => `Client ${conn.clientId || conn.remote}: ${err.message}`)
      conn.fail(err.reasonCode, err.message)
    } else {
      conn.internalError(`handling ${packet.cmd} from`, err)
    }
  }
}
