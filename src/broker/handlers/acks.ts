/**
 * PUBACK / PUBREC / PUBREL / PUBCOMP: the QoS 1 and 2 handshakes in both directions.
 * Outbound (broker -> client) state is the session's in-flight map; inbound QoS 2 is session.incoming.
 */
import type {IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {BrokerContext} from '../context.js'
import {ACK, encodeAck} from '../encode.js'
import {RC} from '../protocol/reason-codes.js'

/** PUBACK: our QoS 1 delivery is done. */
export function handlePuback(ctx: BrokerContext, conn: Connection, packet: IPubackPacket): void {
  const session = conn.session!
  const d = session.inflight?.get(packet.messageId!)
  if (d === undefined || d.qos !== 1) return // unknown id: nothing to release
  ctx.store.deleteInflight(session, packet.messageId!)
  ctx.outbound.pull(conn)
}

/** PUBREC: our QoS 2 delivery was received; answer PUBREL (or end it on an error reason). */
export function handlePubrec(ctx: BrokerContext, conn: Connection, packet: IPubrecPacket): void {
  const session = conn.session!
  const id = packet.messageId!
  const d = session.inflight?.get(id)
  if (d === undefined || d.qos !== 2) {
    if (conn.v5) conn.sendPacket({cmd: 'pubrel', messageId: id, reasonCode: RC.PACKET_IDENTIFIER_NOT_FOUND})
    else conn.write(encodeAck(ACK.pubrel, id))
    return
  }
  if (conn.v5 && (packet.reasonCode ?? 0) >= 0x80) {
    // An error PUBREC ends the exchange: PUBREL answers only a reason code below 0x80 [MQTT-4.3.3-4].
    ctx.store.deleteInflight(session, id)
    ctx.outbound.pull(conn)
    return
  }
  const before = ctx.store.writeSeq
  if (!d.released) {
    d.released = true
    ctx.store.setInflight(session, d)
  }
  // Only once "released" is on disk: a restart that lost it would send the PUBLISH again, and a
  // client that had completed the exchange would take it as a new message (twice, not exactly once).
  conn.sendAfterDurable(before, (err) => (err === undefined ? conn.write(encodeAck(ACK.pubrel, id)) : storeFailed(ctx, conn, 'PUBREL', id, err)))
}

/** PUBCOMP: our QoS 2 delivery is complete. */
export function handlePubcomp(ctx: BrokerContext, conn: Connection, packet: IPubcompPacket): void {
  const session = conn.session!
  const d = session.inflight?.get(packet.messageId!)
  if (d === undefined || d.qos !== 2) return
  ctx.store.deleteInflight(session, packet.messageId!)
  ctx.outbound.pull(conn)
}

/** PUBREL: the client releases its QoS 2 message; we answer PUBCOMP and forget the id. */
export function handlePubrel(ctx: BrokerContext, conn: Connection, packet: IPubrelPacket): void {
  const id = packet.messageId!
  const before = ctx.store.writeSeq
  const known = ctx.store.deleteIncoming(conn.session!, id)
  if (!known && conn.v5) return conn.sendPacket({cmd: 'pubcomp', messageId: id, reasonCode: RC.PACKET_IDENTIFIER_NOT_FOUND})
  // Only once the id is gone from disk too: a restart that kept it would take the client's next QoS 2
  // message under that id for a resend of this one, answer PUBREC and never route it (lost).
  conn.sendAfterDurable(before, (err) => (err === undefined ? conn.write(encodeAck(ACK.pubcomp, id)) : storeFailed(ctx, conn, 'PUBCOMP', id, err)))
}

/** The store could not keep a QoS 2 step: no ack; the connection closes and the client resumes the exchange when it is back. */
function storeFailed(ctx: BrokerContext, conn: Connection, ack: string, id: number, err: Error): void {
  ctx.stats.storeRefusals++
  conn.host.logDebug(() => `Client ${conn.clientId}: ${ack} ${id} not sent: the store could not keep the exchange: ${err.message}`)
  conn.end()
}
