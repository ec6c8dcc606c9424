/**
 * PUBLISH from a client: topic alias, topic validation, QoS 0/1/2 entry (QoS 2 exactly-once state in
 * the session), receive maximum, message expiry, then retain + route through the broker.
 */
import type {IPublishPacket} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import {ACK, encodeAck} from '../encode.js'
import type {ForwardedProperties, Message} from '../message.js'
import {ProtocolError, malformed, protocolError} from '../protocol/errors.js'
import {RC} from '../protocol/reason-codes.js'
import {validateTopicName} from '../protocol/topics.js'

/** Resolves / registers an MQTT 5 topic alias (§3.3.2.3.4). */
function resolveAlias(conn: Connection, topic: string, alias: number): string {
  const max = conn.broker.config.limits.topicAliasMaximum
  // [MQTT-3.3.2-8] [MQTT-3.3.2-9] 0 or above the announced maximum.
  if (alias === 0 || alias > max) throw new ProtocolError(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} out of range`)
  if (topic === '') {
    const known = conn.aliasesIn?.get(alias)
    if (known === undefined) throw protocolError(`unknown topic alias ${alias}`)
    return known
  }
  ;(conn.aliasesIn ??= new Map()).set(alias, topic)
  return topic
}

function forwardedProperties(props: NonNullable<IPublishPacket['properties']>): ForwardedProperties | undefined {
  const out: ForwardedProperties = {}
  let any = false
  if (props.payloadFormatIndicator !== undefined) (out.payloadFormatIndicator = props.payloadFormatIndicator), (any = true)
  if (props.contentType !== undefined) (out.contentType = props.contentType), (any = true)
  if (props.responseTopic !== undefined) (out.responseTopic = props.responseTopic), (any = true)
  if (props.correlationData !== undefined) (out.correlationData = props.correlationData), (any = true)
  if (props.userProperties !== undefined) (out.userProperties = props.userProperties), (any = true)
  return any ? out : undefined
}

export function handlePublish(conn: Connection, packet: IPublishPacket): void {
  const broker = conn.broker
  const qos = packet.qos
  let topic = packet.topic
  let properties: ForwardedProperties | undefined
  let expiresAt = 0
  const props = packet.properties
  if (conn.v5 && props !== undefined) {
    if (props.topicAlias !== undefined) topic = resolveAlias(conn, topic, props.topicAlias)
    // [MQTT-3.3.4-6] a client must not send a subscription identifier.
    if (props.subscriptionIdentifier !== undefined) throw protocolError('subscription identifier in PUBLISH')
    if (props.responseTopic !== undefined && validateTopicName(props.responseTopic) !== undefined) {
      throw protocolError('invalid response topic')
    }
    if (props.messageExpiryInterval !== undefined) expiresAt = Date.now() + props.messageExpiryInterval * 1000
    properties = forwardedProperties(props)
  }
  const invalid = validateTopicName(topic)
  if (invalid !== undefined) {
    // [MQTT-3.3.2-2] wildcards or an empty topic: v5 0x90, 3.1.1 close.
    throw new ProtocolError(topic === '' ? RC.PROTOCOL_ERROR : RC.TOPIC_NAME_INVALID, `topic: ${invalid}`)
  }
  // [MQTT-3.3.1-2] DUP must be 0 for QoS 0.
  if (qos === 0 && packet.dup) throw malformedDup()
  // [MQTT-2.3.1-1] QoS 1/2 carry a non-zero packet identifier.
  if (qos > 0 && !packet.messageId) throw malformed('packet identifier 0')

  const stats = broker.stats
  stats.messagesReceived++
  stats.receivedByQos[qos]++

  const msg: Message = {
    topic,
    payload: packet.payload as Buffer,
    qos,
    retain: packet.retain,
    properties,
    expiresAt,
    from: conn.clientId,
  }
  const session = conn.session!
  const id = packet.messageId ?? 0
  if (qos === 2) {
    // Exactly once: a packet id already awaiting PUBREL is a duplicate; answer, do not route again.
    if (session.incoming?.has(id)) {
      conn.write(encodeAck(ACK.pubrec, id))
      return
    }
    if ((session.incoming?.size ?? 0) >= broker.config.limits.receiveMaximum) {
      // [MQTT-3.3.4-9] more unacknowledged QoS 2 than our receive maximum.
      throw new ProtocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, 'receive maximum exceeded')
    }
    broker.store.addIncoming(session, id)
  }
  broker.publishMessage(msg, conn)
  if (qos === 1) conn.write(encodeAck(ACK.puback, id))
  else if (qos === 2) conn.write(encodeAck(ACK.pubrec, id))
}

function malformedDup(): ProtocolError {
  return new ProtocolError(RC.MALFORMED_PACKET, 'DUP set on a QoS 0 PUBLISH')
}
