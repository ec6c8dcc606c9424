/**
 * CONNECT: checks, client id, keep alive, will, connection limit, session take-over / resume,
 * CONNACK (3.1.1 return code or MQTT 5 reason code + properties), then re-delivery of the session.
 */
import {randomBytes} from 'node:crypto'
import type {IConnackPacket, IConnectPacket} from 'mqtt-packet'
import {ConnState, type Connection} from '../connection.js'
import {ownCopy} from '../message.js'
import type {WillRecord} from '../persistence/store.js'
import {validateTopicName} from '../protocol/topics.js'
import {RC, v3ConnackCode} from '../protocol/reason-codes.js'
import {NEVER_EXPIRES, V31_MAX_CLIENT_ID, protocolNameMatches} from '../protocol/versions.js'

const MAX_PACKET = 268_435_455

/** Refuses the CONNECT with a CONNACK in the client's version, then closes. */
function refuse(conn: Connection, version: number, reason: number, message: string): void {
  conn.broker.logDebug(() => `Refused CONNECT from ${conn.remote}: ${message}`)
  if (version === 5) conn.sendPacket({cmd: 'connack', sessionPresent: false, reasonCode: reason}, 5)
  else conn.sendPacket({cmd: 'connack', sessionPresent: false, returnCode: v3ConnackCode(reason)}, 4)
  conn.end()
}

function assignClientId(): string {
  return `mqttctl-${randomBytes(9).toString('base64url')}`
}

export function handleConnect(conn: Connection, packet: IConnectPacket): void {
  const broker = conn.broker
  const {limits} = broker.config
  const version = packet.protocolVersion ?? 4
  const props = packet.properties

  // [MQTT-3.1.2-1] [MQTT-3.1.2-2] protocol name and level.
  if (!protocolNameMatches(packet.protocolId, version)) {
    return refuse(conn, version === 5 ? 5 : 4, RC.UNSUPPORTED_PROTOCOL_VERSION, `protocol ${packet.protocolId} level ${version}`)
  }
  // [MQTT-3.1.2-22] 3.1.1: a password needs a user name (MQTT 5 allows it alone).
  if (version !== 5 && packet.password !== undefined && packet.username === undefined) {
    broker.stats.protocolErrors++
    return conn.end()
  }
  // Enhanced authentication is not configured: [MQTT-4.12.0-1] refuse any method.
  if (version === 5 && props?.authenticationMethod !== undefined) {
    return refuse(conn, 5, RC.BAD_AUTHENTICATION_METHOD, `authentication method ${props.authenticationMethod}`)
  }

  // Client identifier.
  let clientId = packet.clientId ?? ''
  let assigned: string | undefined
  if (clientId === '') {
    // 3.1 requires an id; 3.1.1 assigns one only with clean session [MQTT-3.1.3-7] [MQTT-3.1.3-8]; 5 always may.
    if (version === 3 || (version === 4 && !packet.clean)) {
      return refuse(conn, version, RC.CLIENT_IDENTIFIER_NOT_VALID, 'empty client id')
    }
    clientId = assigned = assignClientId()
  } else if (version === 3 && clientId.length > V31_MAX_CLIENT_ID) {
    return refuse(conn, version, RC.CLIENT_IDENTIFIER_NOT_VALID, 'client id longer than 23 characters (MQTT 3.1)')
  }

  // Will.
  let will: WillRecord | undefined
  if (packet.will) {
    const w = packet.will
    if ((w.qos as number) > 2) {
      broker.stats.protocolErrors++
      return version === 5 ? refuse(conn, 5, RC.MALFORMED_PACKET, 'will QoS 3') : conn.end()
    }
    const invalid = validateTopicName(w.topic)
    if (invalid !== undefined) {
      return version === 5 ? refuse(conn, 5, RC.TOPIC_NAME_INVALID, `will topic: ${invalid}`) : conn.end()
    }
    const {willDelayInterval, ...willProps} = (w.properties ?? {}) as Record<string, unknown>
    if (Buffer.isBuffer(willProps.correlationData)) willProps.correlationData = ownCopy(willProps.correlationData)
    will = {
      topic: w.topic,
      // Its own bytes: a will may wait for the whole connection (and its delay), the frame need not.
      payload: Buffer.isBuffer(w.payload) ? ownCopy(w.payload) : Buffer.from(w.payload ?? ''),
      qos: (w.qos ?? 0) as 0 | 1 | 2,
      retain: Boolean(w.retain),
      properties: Object.keys(willProps).length > 0 ? willProps : undefined,
      delay: typeof willDelayInterval === 'number' ? willDelayInterval : 0,
    }
  }

  // Keep alive [MQTT-3.1.2-24]; a configured maximum is announced to MQTT 5 clients.
  let keepAlive = packet.keepalive ?? 0
  let serverKeepAlive: number | undefined
  const maxKa = limits.maxKeepAlive
  if (maxKa > 0 && maxKa < 65_535 && (keepAlive > maxKa || keepAlive === 0)) {
    if (version !== 5) {
      // 3.1.1 has no way to tell the client (Mosquitto's max_keepalive does the same).
      if (keepAlive > maxKa) return refuse(conn, version, RC.CLIENT_IDENTIFIER_NOT_VALID, `keep alive ${keepAlive} > ${maxKa}`)
    } else {
      keepAlive = serverKeepAlive = maxKa
    }
  }

  // Connection limit: the take-over of a live client id does not add a connection.
  const existing = broker.clients.get(clientId)
  if (existing === undefined && broker.clients.size >= broker.config.maxConnections) {
    broker.stats.connectionsRefused++
    broker.connectionLimitReached()
    return refuse(conn, version, version === 5 ? RC.QUOTA_EXCEEDED : RC.SERVER_UNAVAILABLE, 'connection limit reached')
  }

  // Session expiry: 3.1.1 clean session = 0, persistent = "never" (capped by the configured maximum).
  const requested = version === 5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES
  const expiry = Math.min(requested, limits.maxSessionExpiry)
  const cleanStart = packet.clean !== false

  // Take-over [MQTT-3.1.4-3]: the old connection is told (0x8E) and closed; its session is ours.
  if (existing !== undefined) {
    broker.logDebug(() => `Client ${clientId} taken over by ${conn.remote}`)
    existing.disconnect(RC.SESSION_TAKEN_OVER)
  }

  conn.version = version
  conn.clientId = clientId
  conn.will = will
  conn.keepAliveMs = keepAlive * 1500
  if (version === 5) {
    if (props?.receiveMaximum !== undefined) conn.sendMax = props.receiveMaximum
    if (props?.maximumPacketSize !== undefined) conn.maxOut = props.maximumPacketSize
    if (props?.topicAliasMaximum !== undefined) conn.aliasMaxOut = props.topicAliasMaximum
  }
  conn.state = ConnState.Connected

  const {session, present} = broker.sessions.open(conn, cleanStart, expiry)
  conn.session = session
  broker.clients.set(clientId, conn)
  broker.stats.connectionsLive = broker.clients.size
  broker.stats.connectionsTotal++
  broker.touchConnection(conn)

  const connack: IConnackPacket = {cmd: 'connack', sessionPresent: present}
  if (version === 5) {
    connack.reasonCode = RC.SUCCESS
    const p: NonNullable<IConnackPacket['properties']> = {}
    if (assigned !== undefined) p.assignedClientIdentifier = assigned
    if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive
    if (expiry !== requested) p.sessionExpiryInterval = expiry
    if (limits.receiveMaximum < 65_535) p.receiveMaximum = limits.receiveMaximum
    if (limits.maxPacketSize < MAX_PACKET) p.maximumPacketSize = limits.maxPacketSize
    if (limits.topicAliasMaximum > 0) p.topicAliasMaximum = limits.topicAliasMaximum
    // Response information is optional [MQTT-3.1.2-28]: we do not offer a response topic scheme.
    if (Object.keys(p).length > 0) connack.properties = p
  } else {
    connack.returnCode = 0
  }
  conn.sendPacket(connack)
  broker.logDebug(() => `New client connected from ${conn.remote} as ${clientId} (v${version}, c${cleanStart ? 1 : 0}, k${keepAlive})`)

  // [MQTT-4.4.0-1] resend unacknowledged messages with DUP, then what was queued while offline.
  if (present) broker.outbound.resume(conn)
}
