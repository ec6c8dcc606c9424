/** UNSUBSCRIBE: remove from the index and the session; UNSUBACK (MQTT 5: a reason per filter). */
import type {IUnsubscribePacket} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {BrokerContext} from '../context.js'
import {malformed} from '../protocol/errors.js'
import {RC} from '../protocol/reason-codes.js'
import {validateTopicFilter} from '../protocol/topics.js'

export function handleUnsubscribe(ctx: BrokerContext, conn: Connection, packet: IUnsubscribePacket): void {
  const session = conn.session!
  // [MQTT-2.3.1-1] a non-zero packet identifier.
  if (!packet.messageId) throw malformed('packet identifier 0')
  const reasons: number[] = []
  for (const filter of packet.unsubscriptions) {
    if (validateTopicFilter(filter) !== undefined) {
      reasons.push(RC.TOPIC_FILTER_INVALID)
      continue
    }
    const existed = ctx.subscriptions.remove(session, filter)
    reasons.push(existed ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED)
  }
  if (conn.v5) conn.sendPacket({cmd: 'unsuback', messageId: packet.messageId, granted: reasons} as never)
  else conn.sendPacket({cmd: 'unsuback', messageId: packet.messageId} as never)
}
