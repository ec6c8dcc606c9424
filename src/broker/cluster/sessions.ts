/**
 * Sessions moving between nodes, and client-id take-over across nodes.
 *
 * The node that holds a client (connected, or a persistent session waiting for it) subscribes to
 * "<prefix>.c.<hash of the client id>" (sha256, so any client id fits a subject). A node where that
 * client connects asks there before it answers the CONNECT (the authorizer seam lets a CONNECT wait):
 *   - nobody holds it: NATS answers "no responders" at once and the CONNECT goes on;
 *   - a node holds it: that node closes the client's connection (MQTT 5: DISCONNECT 0x8E, session
 *     taken over), sends the session (subscriptions, QoS 2 state, in-flight and queued messages,
 *     a will still waiting for its delay) as a stream of NATS messages ended by an empty one, and
 *     forgets it; the asking node adopts it, so CONNACK says session present and the queue follows.
 * No answer within TAKEOVER_TIMEOUT_MS (NATS away): the CONNECT goes on with what this node has.
 *
 * Wire: message 1 = JSON session header; then one message per delivery (payload = MQTT payload,
 * headers = ./wire.ts plus Mqtt-Topic and Mqtt-Delivery); then an empty message.
 */
import {createHash} from 'node:crypto'
import {type Msg, type MsgHdrs, type NatsConnection, type Subscription, createInbox, headers as natsHeaders} from 'nats'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Delivery} from '../message.js'
import type {SessionRecord, WillRecord} from '../persistence/store.js'
import type {SubOptions} from '../topics/types.js'
import type {Identity} from '../auth/authorizer.js'
import {decodeMessage, encodeHeaders} from './wire.js'
import {validateTopicFilter, validateTopicName} from '../protocol/topics.js'

export const TAKEOVER_TIMEOUT_MS = 2_000
/** Deliveries one moved session may bring (a peer is checked like any network input). */
const MAX_MOVED_DELIVERIES = 1_000_000
const MAX_MOVED_SUBSCRIPTIONS = 100_000
const H_TOPIC = 'Mqtt-Topic'
const H_DELIVERY = 'Mqtt-Delivery'
/** Set on the one answer of a holder that refuses the take-over (the authorizer's canTakeOver). */
const H_REFUSED = 'Mqtt-Refused'

/** What claim() found: go on, refuse the CONNECT (take-over not authorized by the holder), or go on: no node holds it live. */
export type ClaimResult = 'ok' | 'refused' | 'nobody'

export interface MovedSession {
  clientId: string
  expiryInterval: number
  subscriptions: Array<[string, SubOptions]>
  incoming: number[]
  lastPacketId: number
  pendingWill?: WillRecord
  /** ms until a pending will is due. */
  willIn?: number
  /** In flight first (with their packet ids), then the queue, in order. */
  deliveries: Delivery[]
}

export interface SessionHost {
  readonly logger: Logger
  readonly clock: Clock
  /** May a connection authenticated as `next` take over the client's live connection here (auth.takeOver)? */
  mayTakeOver(clientId: string, next: Identity): boolean
  /** Closes the client's live connection here, if any (take-over). */
  disconnect(clientId: string): boolean
  /** The persistent session waiting here, if any. */
  getSession(clientId: string): SessionRecord | undefined
  /** Forgets the session here without publishing its will (it moves with the session). */
  release(session: SessionRecord): void
  /** Recreates a session that moved here. */
  adopt(moved: MovedSession): void
}

interface Header {
  v: 1
  clientId: string
  expiryInterval: number
  subscriptions: Array<[string, SubOptions]>
  incoming: number[]
  lastPacketId: number
  will?: {topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean; properties?: Record<string, unknown>; delay: number; dueIn: number}
  deliveries: number
}

/** Subscription options from a peer, checked. */
export function isSubOptions(o: unknown): o is SubOptions {
  const s = o as SubOptions
  return (
    typeof s === 'object' && s !== null && [0, 1, 2].includes(s.qos) && typeof s.noLocal === 'boolean' && typeof s.retainAsPublished === 'boolean' && [0, 1, 2].includes(s.retainHandling) &&
    (s.subscriptionId === undefined || (Number.isInteger(s.subscriptionId) && s.subscriptionId > 0 && s.subscriptionId < 268_435_456))
  )
}

export class SessionMover {
  readonly #nc: NatsConnection
  readonly #prefix: string
  readonly #host: SessionHost
  readonly #nodeName: string
  /** Client ids held here -> their NATS subscription. */
  readonly #held = new Map<string, Subscription>()
  moved = 0
  adopted = 0
  takeovers = 0

  constructor(nc: NatsConnection, prefix: string, nodeName: string, host: SessionHost) {
    this.#nc = nc
    this.#prefix = prefix
    this.#nodeName = nodeName
    this.#host = host
  }

  subject(clientId: string): string {
    return `${this.#prefix}.c.${createHash('sha256').update(clientId).digest('base64url')}`
  }

  /** This node now holds the client: others asking for it are answered here. */
  hold(clientId: string): void {
    if (this.#held.has(clientId)) return
    const sub = this.#nc.subscribe(this.subject(clientId), {callback: (err, m) => err === null && this.#answer(clientId, m)})
    this.#held.set(clientId, sub)
  }

  /** Not held here any more (session ended). */
  drop(clientId: string): void {
    this.#held.get(clientId)?.unsubscribe()
    this.#held.delete(clientId)
  }

  get holding(): number {
    return this.#held.size
  }

  /** Forgets subscriptions of clients that have neither a connection nor a session here. */
  sweep(isHere: (clientId: string) => boolean): void {
    for (const id of [...this.#held.keys()]) if (!isHere(id)) this.drop(id)
  }

  #answer(clientId: string, m: Msg): void {
    if (m.reply === undefined || m.reply === '') return
    let asked: {clientId?: unknown; username?: unknown}
    try {
      asked = JSON.parse(Buffer.from(m.data).toString()) as {clientId?: unknown; username?: unknown}
    } catch {
      return
    }
    if (asked.clientId !== clientId) return // a hash collision or a foreign message: not ours
    const host = this.#host
    const next: Identity = typeof asked.username === 'string' ? {clientId, username: asked.username} : {clientId}
    if (!host.mayTakeOver(clientId, next)) {
      const h = natsHeaders()
      h.set(H_REFUSED, '1')
      try {
        this.#nc.publish(m.reply, 'refused', {headers: h})
        this.#nc.publish(m.reply)
      } catch {}
      return
    }
    try {
      if (host.disconnect(clientId)) this.takeovers++
      const session = host.getSession(clientId)
      if (session !== undefined && session.expiryInterval > 0) {
        this.#send(m.reply, session)
        host.release(session)
        this.moved++
        host.logger.info(`cluster: session ${JSON.stringify(clientId)} moved to another node`)
      }
    } catch (error) {
      host.logger.error(`cluster: internal error handing over ${JSON.stringify(clientId)}: ${(error as Error)?.stack ?? error}`)
    }
    this.drop(clientId)
    try {
      this.#nc.publish(m.reply) // the end: an empty message
    } catch {
      // Closing: the asking node times out and goes on with its own state.
    }
  }

  #send(reply: string, s: SessionRecord): void {
    const now = this.#host.clock.now()
    const deliveries: Delivery[] = [...(s.inflight?.values() ?? []), ...(s.queue ?? [])]
    const w = s.pendingWill
    const header: Header = {
      v: 1,
      clientId: s.clientId,
      expiryInterval: s.expiryInterval,
      subscriptions: [...s.subscriptions],
      incoming: [...(s.incoming ?? [])],
      lastPacketId: s.lastPacketId,
      deliveries: deliveries.length,
    }
    if (w !== undefined) header.will = {topic: w.topic, payload: w.payload.toString('base64'), qos: w.qos, retain: w.retain, properties: w.properties, delay: w.delay, dueIn: Math.max(0, s.willAt - now)}
    this.#nc.publish(reply, JSON.stringify(header, (_k, v: unknown) => (Buffer.isBuffer(v) ? {$b64: v.toString('base64')} : v)))
    const max = this.#nc.info?.max_payload ?? 1_048_576
    for (const d of deliveries) {
      if (d.msg.payload.length > max - 4096) {
        this.#host.logger.warn(`cluster: a ${d.msg.payload.length}-byte queued message of ${JSON.stringify(s.clientId)} is too large for NATS and does not move`)
        continue
      }
      const h = encodeHeaders(d.msg, now) ?? natsHeaders()
      h.set(H_TOPIC, JSON.stringify(d.msg.topic))
      h.set(H_DELIVERY, JSON.stringify({qos: d.qos, retain: d.retain, ids: d.subscriptionIds, packetId: d.packetId, released: d.released, sent: d.sent, shared: d.shared}))
      this.#nc.publish(reply, d.msg.payload, {headers: h})
    }
  }

  /**
   * Before this node answers a CONNECT for `clientId`: takes the client over from any other node and
   * adopts its session. Resolves when done, when nobody holds it, or after TAKEOVER_TIMEOUT_MS.
   */
  async claim(clientId: string, username?: string): Promise<ClaimResult> {
    const inbox = createInbox()
    let refused = false
    const sub = this.#nc.subscribe(inbox)
    let header: Header | undefined
    const deliveries: Delivery[] = []
    const timer = setTimeout(() => sub.unsubscribe(), TAKEOVER_TIMEOUT_MS)
    timer.unref()
    let timedOut = true
    let nobody = false
    try {
      this.#nc.publish(this.subject(clientId), JSON.stringify({clientId, node: this.#nodeName, username}), {reply: inbox, headers: natsHeaders()})
      for await (const m of sub) {
        if (m.headers?.code === 503) {
          timedOut = false
          nobody = true
          break // no responders: nobody else holds it
        }
        if (m.data.length === 0 && m.headers === undefined) {
          timedOut = false
          break
        }
        if (m.headers?.get(H_REFUSED) === '1') {
          refused = true
          continue
        }
        if (header === undefined) header = this.#parseHeader(clientId, m.data)
        else if (deliveries.length < Math.min(header.deliveries, MAX_MOVED_DELIVERIES)) {
          const d = this.#parseDelivery(m.data, m.headers)
          if (d !== undefined) deliveries.push(d)
        }
      }
    } finally {
      clearTimeout(timer)
      sub.unsubscribe()
    }
    if (refused) return 'refused'
    if (timedOut) this.#host.logger.warn(`cluster: no answer from NATS about client ${JSON.stringify(clientId)} within ${TAKEOVER_TIMEOUT_MS} ms; going on with this node's state`)
    if (header !== undefined) {
      const now = this.#host.clock.now()
      const w = header.will
      this.#host.adopt({
        clientId,
        expiryInterval: header.expiryInterval,
        subscriptions: header.subscriptions,
        incoming: header.incoming,
        lastPacketId: header.lastPacketId,
        pendingWill: w === undefined ? undefined : {topic: w.topic, payload: Buffer.from(w.payload, 'base64'), qos: w.qos, retain: w.retain, properties: w.properties, delay: w.delay},
        willIn: w?.dueIn,
        deliveries,
      })
      this.adopted++
      this.#host.logger.info(`cluster: session ${JSON.stringify(clientId)} moved here with ${deliveries.length} message(s) at ${new Date(now).toISOString()}`)
    }
    this.hold(clientId)
    return nobody ? 'nobody' : 'ok'
  }

  #parseHeader(clientId: string, data: Uint8Array): Header | undefined {
    let h: Header
    try {
      h = JSON.parse(Buffer.from(data).toString(), (_k, v: unknown) => {
        const b = v as {$b64?: unknown}
        return b !== null && typeof b === 'object' && typeof b.$b64 === 'string' && Object.keys(b).length === 1 ? Buffer.from(b.$b64, 'base64') : v
      }) as Header
    } catch {
      return undefined
    }
    // A peer is checked like any network input: valid filters and topics, bounded counts.
    const ok =
      h?.v === 1 && h.clientId === clientId && Number.isInteger(h.expiryInterval) && h.expiryInterval >= 0 && h.expiryInterval <= 4_294_967_295 &&
      Array.isArray(h.subscriptions) && h.subscriptions.length <= MAX_MOVED_SUBSCRIPTIONS &&
      h.subscriptions.every((s) => Array.isArray(s) && typeof s[0] === 'string' && validateTopicFilter(s[0]) === undefined && isSubOptions(s[1])) &&
      Array.isArray(h.incoming) && h.incoming.length <= 65_535 && h.incoming.every((i) => Number.isInteger(i) && i > 0 && i < 65_536) &&
      Number.isInteger(h.lastPacketId) && h.lastPacketId >= 0 && h.lastPacketId < 65_536 && Number.isInteger(h.deliveries) && h.deliveries >= 0 &&
      (h.will === undefined || (typeof h.will.topic === 'string' && validateTopicName(h.will.topic) === undefined && typeof h.will.payload === 'string' && [0, 1, 2].includes(h.will.qos) && Number.isInteger(h.will.delay) && Number.isFinite(h.will.dueIn)))
    return ok ? h : undefined
  }

  #parseDelivery(data: Uint8Array, h: MsgHdrs | undefined): Delivery | undefined {
    try {
      const topic = JSON.parse(h?.get(H_TOPIC) ?? '') as unknown
      const d = JSON.parse(h?.get(H_DELIVERY) ?? '') as {qos: 0 | 1 | 2; retain: boolean; ids?: number[]; packetId: number; released: boolean; sent: boolean; shared?: string}
      if (typeof topic !== 'string' || validateTopicName(topic) !== undefined || ![0, 1, 2].includes(d.qos) || !Number.isInteger(d.packetId) || d.packetId < 0 || d.packetId > 65_535) return undefined
      const {msg} = decodeMessage(topic, Buffer.from(data), h, this.#host.clock.now())
      msg.owned = true
      return {msg, qos: d.qos, retain: d.retain === true, subscriptionIds: Array.isArray(d.ids) ? d.ids.filter((i) => Number.isInteger(i)) : undefined, packetId: d.packetId, released: d.released === true, sent: d.sent === true, shared: typeof d.shared === 'string' ? d.shared : undefined}
    } catch {
      return undefined
    }
  }

  close(): void {
    for (const sub of this.#held.values()) sub.unsubscribe()
    this.#held.clear()
  }
}
