/**
 * packet.cmd -> handler. Protocol state rules live here, once, before any handler runs:
 * CONNECT first [MQTT-3.1.0-1], CONNECT only once [MQTT-3.1.0-2], and client-only packet types.
 * Handlers throw ProtocolError; this is the one place that turns it into a reason code.
 */
import type {Packet} from 'mqtt-packet'
import {ConnState, type Connection} from './connection.js'
import {handleConnect} from './handlers/connect.js'
import {handleDisconnect, handleAuth, handlePingreq} from './handlers/control.js'
import {handlePuback, handlePubcomp, handlePubrec, handlePubrel} from './handlers/acks.js'
import {handlePublish} from './handlers/publish.js'
import {handleSubscribe} from './handlers/subscribe.js'
import {handleUnsubscribe} from './handlers/unsubscribe.js'
import {ProtocolError} from './protocol/errors.js'
import {RC} from './protocol/reason-codes.js'

export function dispatch(conn: Connection, packet: Packet): void {
  try {
    if (conn.state === ConnState.Connecting) {
      // [MQTT-3.1.0-1] the first packet from the client must be CONNECT.
      if (packet.cmd !== 'connect') throw new ProtocolError(RC.PROTOCOL_ERROR, `first packet was ${packet.cmd}, not connect`)
      handleConnect(conn, packet)
      return
    }
    switch (packet.cmd) {
      case 'publish':
        handlePublish(conn, packet)
        break
      case 'puback':
        handlePuback(conn, packet)
        break
      case 'pubrec':
        handlePubrec(conn, packet)
        break
      case 'pubrel':
        handlePubrel(conn, packet)
        break
      case 'pubcomp':
        handlePubcomp(conn, packet)
        break
      case 'subscribe':
        handleSubscribe(conn, packet)
        break
      case 'unsubscribe':
        handleUnsubscribe(conn, packet)
        break
      case 'pingreq':
        handlePingreq(conn)
        break
      case 'disconnect':
        handleDisconnect(conn, packet)
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
    const broker = conn.broker
    if (err instanceof ProtocolError) {
      broker.stats.protocolErrors++
      broker.logDebug(() => `Client ${conn.clientId || conn.remote}: ${err.message}`)
      conn.fail(err.reasonCode, err.message)
    } else {
      broker.logger.error(`Internal error handling ${packet.cmd} from ${conn.clientId || conn.remote}: ${(err as Error).stack ?? err}`)
      conn.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error')
    }
  }
}
