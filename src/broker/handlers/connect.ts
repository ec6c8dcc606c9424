/**
 * CONNECT: checks, client id, keep alive, will; then the authorizer (which may answer later: the
 * connection reads nothing meanwhile); then the connection limit, take-over, session take-over /
 * resume, CONNACK (3.1.1 return code or MQTT 5 reason code + properties; sent once the store made
 * the session durable) and re-delivery of the session.
 */
import type {IConnackPacket, IConnectPacket} from 'mqtt-packet'
import type {AuthOutcome, ConnectCredentials} from '../auth/authorizer.js'
import {ConnState, Paused} from '../conn-state.js'
import type {Connection} from '../connection.js'
import {nodeCrypto} from '../lazy-builtins.js'
import type {BrokerContext} from '../context.js'
import {ownCopy} from '../message.js'
import type {WillRecord} from '../persistence/store.js'
import {ProtocolError} from '../protocol/errors.js'
import {validateTopicName} from '../protocol/topics.js'
import {RC} from '../protocol/reason-codes.js'
import {MAX_PACKET_SIZE, NEVER_EXPIRES, V31_MAX_CLIENT_ID, protocolNameMatches} from '../protocol/versions.js'

/** A CONNECT that passed the protocol checks, waiting for the authorizer's answer. */
interface ConnectRequest {
  version: number
  clientId: string
  /** The id we assigned (MQTT 5 CONNACK tells the client), if the client sent none. */
  assigned: string | undefined
  will: WillRecord | undefined
  keepAlive: number
  serverKeepAlive: number | undefined
  /** Session expiry asked for, and granted (capped by limits.maxSessionExpiry). */
  requested: number
  expiry: number
  cleanStart: boolean
  props: IConnectPacket['properties']
}

function assignClientId(): string {
  return `mqttctl-${nodeCrypto().randomBytes(9).toString('base64url')}`
}

const isPromise = (v: unknown): v is Promise<AuthOutcome> => typeof (v as Promise<unknown> | undefined)?.then === 'function'

export function handleConnect(ctx: BrokerContext, conn: Connection, packet: IConnectPacket): void {
  const {limits} = ctx.config
  const version = packet.protocolVersion ?? 4
  const props = packet.properties

  // [MQTT-3.1.2-1] [MQTT-3.1.2-2] protocol name and level.
  if (!protocolNameMatches(packet.protocolId, version)) {
    return conn.refuse(version === 5 ? 5 : 4, RC.UNSUPPORTED_PROTOCOL_VERSION, `protocol ${packet.protocolId} level ${version}`)
  }
  // [MQTT-3.1.2-22] 3.1.1: a password needs a user name (MQTT 5 allows it alone).
  if (version !== 5 && packet.password !== undefined && packet.username === undefined) {
    ctx.stats.protocolErrors++
    return conn.end()
  }
  // Enhanced authentication is not configured: [MQTT-4.12.0-1] refuse any method.
  if (version === 5 && props?.authenticationMethod !== undefined) {
    return conn.refuse(5, RC.BAD_AUTHENTICATION_METHOD, `authentication method ${props.authenticationMethod}`)
  }

  // Client identifier.
  let clientId = packet.clientId ?? ''
  let assigned: string | undefined
  if (clientId === '') {
    // 3.1 requires an id; 3.1.1 assigns one only with clean session [MQTT-3.1.3-7] [MQTT-3.1.3-8]; 5 always may.
    if (version === 3 || (version === 4 && !packet.clean)) {
      return conn.refuse(version, RC.CLIENT_IDENTIFIER_NOT_VALID, 'empty client id')
    }
    clientId = assigned = assignClientId()
  } else if (version === 3 && clientId.length > V31_MAX_CLIENT_ID) {
    return conn.refuse(version, RC.CLIENT_IDENTIFIER_NOT_VALID, 'client id longer than 23 characters (MQTT 3.1)')
  }

  // Will.
  let will: WillRecord | undefined
  if (packet.will) {
    const w = packet.will
    if ((w.qos as number) > 2) {
      ctx.stats.protocolErrors++
      return version === 5 ? conn.refuse(5, RC.MALFORMED_PACKET, 'will QoS 3') : conn.end()
    }
    const invalid = validateTopicName(w.topic)
    if (invalid !== undefined) {
      return version === 5 ? conn.refuse(5, RC.TOPIC_NAME_INVALID, `will topic: ${invalid}`) : conn.end()
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
      // 3.1.1 cannot tell the client the maximum and has no return code for it: refused with
      // "identifier rejected" (return code 2), as Mosquitto's max_keepalive does.
      if (keepAlive > maxKa) {
        return conn.refuse(version, RC.CLIENT_IDENTIFIER_NOT_VALID, `keep alive ${keepAlive} s is above the maximum of ${maxKa} s (MQTT ${version === 3 ? '3.1' : '3.1.1'} has no code for it: return code 2, as Mosquitto)`)
      }
    } else {
      keepAlive = serverKeepAlive = maxKa
    }
  }

  // Session expiry: 3.1.1 clean session = 0, persistent = "never" (capped by the configured maximum).
  const requested = version === 5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES
  const req: ConnectRequest = {
    version,
    clientId,
    assigned,
    will,
    keepAlive,
    serverKeepAlive,
    requested,
    expiry: Math.min(requested, limits.maxSessionExpiry),
    cleanStart: packet.clean !== false,
    props,
  }

  // Before any authentication work: the per-address connection rate and the memory ceiling.
  if (!ctx.limits.connectRate.take(conn.socket.remoteAddress ?? '')) {
    ctx.stats.connectionsRateLimited++
    return conn.refuse(version, RC.CONNECTION_RATE_EXCEEDED, `limits.connectRatePerAddress reached for ${conn.socket.remoteAddress}`)
  }
  if (ctx.limits.overloaded) {
    ctx.limits.reached()
    ctx.stats.connectionsRefused++
    return conn.refuse(version, RC.QUOTA_EXCEEDED, 'memory past limits.maxMemory: not accepting connections now')
  }

  const credentials: ConnectCredentials = {
    clientId,
    username: packet.username,
    password: packet.password,
    remoteAddress: conn.remote,
    protocolVersion: version,
    tls: conn.tls,
  }
  const outcome = ctx.authorizer.authenticate(credentials)
  if (!isPromise(outcome)) return accept(ctx, conn, req, outcome)
  // A slow check: read nothing more from this client until it answers.
  conn.state = ConnState.Authenticating
  conn.pauseReading(Paused.Auth)
  outcome.then(
    (o) => authenticated(ctx, conn, req, o),
    (err: unknown) => {
      ctx.logger.error(`Authentication of ${clientId} from ${conn.remote} failed: ${(err as Error)?.stack ?? err}`)
      authenticated(ctx, conn, req, {ok: false, reasonCode: RC.UNSPECIFIED_ERROR})
    },
  )
}

/** The authorizer answered later: go on, unless the connection closed meanwhile (then the answer is dropped). */
function authenticated(ctx: BrokerContext, conn: Connection, req: ConnectRequest, outcome: AuthOutcome): void {
  if (conn.state !== ConnState.Authenticating) return
  conn.state = ConnState.Connecting
  try {
    accept(ctx, conn, req, outcome)
  } catch (err) {
    if (err instanceof ProtocolError) {
      ctx.stats.protocolErrors++
      conn.fail(err.reasonCode, err.message)
    } else {
      conn.internalError('connecting', err)
    }
  }
  conn.resumeDecoding()
}

function accept(ctx: BrokerContext, conn: Connection, req: ConnectRequest, outcome: AuthOutcome): void {
  const {version, clientId, expiry} = req
  if (!outcome.ok) {
    ctx.stats.authFailures++
    return conn.refuse(version, outcome.reasonCode, `authentication refused (0x${outcome.reasonCode.toString(16)})`)
  }
  const identity = outcome.identity
  const {clients, store, stats, authorizer, config} = ctx

  // Connection limit: the take-over of a live client id does not add a connection.
  const existing = clients.get(clientId)
  if (existing === undefined && clients.full) {
    clients.refusedForLimit()
    return conn.refuse(version, version === 5 ? RC.QUOTA_EXCEEDED : RC.SERVER_UNAVAILABLE, 'connection limit reached')
  }
  if (existing !== undefined && existing.identity !== undefined && !authorizer.canTakeOver(identity, existing.identity)) {
    stats.authFailures++
    return conn.refuse(version, RC.NOT_AUTHORIZED, `take-over of client id ${clientId} not authorized`)
  }
  // limits.maxSessions: a client that has no session needs room for one (an existing one may resume).
  if (store.sessionCount >= config.limits.maxSessions && store.getSession(clientId) === undefined) {
    ctx.limits.reached()
    stats.connectionsRefused++
    return conn.refuse(version, RC.QUOTA_EXCEEDED, `limits.maxSessions (${config.limits.maxSessions}) reached`)
  }
  // A session that outlives the connection needs the disk: refused while the store cannot write.
  if (expiry > 0 && store.degraded) {
    stats.storeRefusals++
    return conn.refuse(version, RC.UNSPECIFIED_ERROR, 'the store cannot keep a persistent session now (degraded)')
  }

  const before = store.writeSeq
  // Take-over [MQTT-3.1.4-3]: the old connection is told (0x8E) and closed; its session is ours.
  if (existing !== undefined) {
    ctx.logDebug(() => `Client ${clientId} taken over by ${conn.remote}`)
    existing.disconnect(RC.SESSION_TAKEN_OVER)
  }

  conn.version = version
  conn.clientId = clientId
  conn.identity = identity
  conn.will = req.will
  conn.keepAliveMs = req.keepAlive * 1500
  const props = req.props
  // In flight towards the client: its receive maximum (MQTT 5), and in bytes limits.maxQueuedBytes for
  // every version (outbound.ts). A count cap of our own for 3.1.1 clients cost QoS 1 throughput ~10x
  // on the probe (one ack round trip per 32 messages) and bounded nothing the byte limit does not.
  if (version === 5) {
    if (props?.receiveMaximum !== undefined) conn.sendMax = props.receiveMaximum
    if (props?.maximumPacketSize !== undefined) conn.maxOut = props.maximumPacketSize
    if (props?.topicAliasMaximum !== undefined) conn.aliasMaxOut = props.topicAliasMaximum
  }
  conn.state = ConnState.Connected

  const {session, present} = ctx.sessions.open(conn, req.cleanStart, expiry)
  conn.session = session
  clients.add(conn)
  ctx.touchConnection(conn)

  conn.sendAfterDurable(before, (err) => {
    if (err !== undefined) {
      // The session could not be stored: refused (MQTT 5 0x80, 3.1.1 return code 3), no will.
      stats.storeRefusals++
      conn.will = undefined
      conn.normalDisconnect = true
      return conn.refuse(version, RC.UNSPECIFIED_ERROR, `the store could not keep the session: ${err.message}`)
    }
    const limits = config.limits
    const connack: IConnackPacket = {cmd: 'connack', sessionPresent: present}
    if (version === 5) {
      connack.reasonCode = RC.SUCCESS
      const p: NonNullable<IConnackPacket['properties']> = {}
      if (req.assigned !== undefined) p.assignedClientIdentifier = req.assigned
      if (req.serverKeepAlive !== undefined) p.serverKeepAlive = req.serverKeepAlive
      if (expiry !== req.requested) p.sessionExpiryInterval = expiry
      if (limits.receiveMaximum < 65_535) p.receiveMaximum = limits.receiveMaximum
      if (limits.maxPacketSize < MAX_PACKET_SIZE) p.maximumPacketSize = limits.maxPacketSize
      if (limits.topicAliasMaximum > 0) p.topicAliasMaximum = limits.topicAliasMaximum
      // Response information is optional [MQTT-3.1.2-28]: we do not offer a response topic scheme.
      if (Object.keys(p).length > 0) connack.properties = p
    } else {
      connack.returnCode = 0
    }
    conn.sendPacket(connack)
    ctx.logDebug(() => `New client connected from ${conn.remote} as ${clientId} (v${version}, c${req.cleanStart ? 1 : 0}, k${req.keepAlive})`)

    // [MQTT-4.4.0-1] resend unacknowledged messages with DUP, then what was queued while offline.
    if (present) ctx.outbound.resume(conn)
  })
}
