/**
 * QoS 1/2 messages for persistent sessions on other nodes go through JetStream, not only core NATS
 * (which is at most once: a slow node is cut off at 64 MiB of backlog, a node that is down misses
 * what was sent meanwhile).
 *
 *   - Every node has a stable token (its name: cluster.nodeName, or host-pid by default) and a
 *     durable JetStream consumer "node_<token>" on the work-queue stream MQTT_DURABLE_<prefix>,
 *     filtered on "<prefix>.d.<token>.>": the stream keeps a node's copies until that node acked them,
 *     across restarts of the node and of nats-server.
 *   - Every node records the filters of its persistent sessions (session expiry > 0) subscribed at
 *     QoS 1/2 in JetStream (./durable-interest.ts). A QoS 1/2 message published on node A whose topic one of
 *     them matches on node B is published to "<prefix>.d.<B>.<topic subject>" through JetStream; A's
 *     PUBACK / PUBREC waits for JetStream's acknowledgement (./acks.ts) and is refused when JetStream
 *     refuses. The core NATS copy names B in its Mqtt-Js header and B ignores it: B delivers the
 *     JetStream copy instead, to all its local (non-shared) subscribers, exactly as a core copy.
 *   - B acknowledges a copy to JetStream only once its own store has the deliveries durable
 *     (Store.whenDurable); unacknowledged copies come again. Copies carry a message id
 *     (Mqtt-Id, also JetStream's Nats-Msg-Id); B remembers the last DEDUPE_IDS ids and acks a repeat
 *     without delivering it; and it writes an "applied" mark of each copy into its store with the
 *     deliveries (./applied.ts), so a copy sent again after B restarted between its store write and
 *     the ack is recognised too: a QoS 2 message is delivered once through a crash of B.
 * QoS 0, clean sessions only, shared subscriptions: core NATS as before (the fast path).
 */
import {createHash} from 'node:crypto'
import {AckPolicy, type ConsumerMessages, DeliverPolicy, DiscardPolicy, type JetStreamClient, type JetStreamManager, type JsMsg, type MsgHdrs, type NatsConnection, RetentionPolicy, StorageType, headers as natsHeaders, nanos} from 'nats'
import type {Delivery, Message} from '../message.js'
import type {ClusterHooks, ClusterHost, ClusterStats} from './host.js'
import {ensureStream} from './link.js'
import {SubjectMap} from './subjects.js'
import {SubscriptionIndex} from '../topics/index.js'
import type {SubOptions} from '../topics/types.js'
import {WireError, decodeMessage, encodeHeaders} from './wire.js'

/** Header of a core copy: the nodes (tokens, comma-separated) that get this message through JetStream. */
export const JS_HEADER = 'Mqtt-Js'
/** Header with the message id a receiving node deduplicates on (also JetStream's Nats-Msg-Id). */
export const ID_HEADER = 'Mqtt-Id'
/** Header of a copy meant for one session only (base64url of its client id): ./orphans.ts forwards a released session's queue. */
export const FOR_HEADER = 'Mqtt-For'
/** Message ids remembered per node for deduplication. */
export const DEDUPE_IDS = 100_000
/**
 * Stream bounds: beyond them JetStream refuses new copies and the copy is dropped (counted, logged
 * once a minute), as a single broker drops a message for a session whose queue is full: the
 * publisher's PUBACK is not refused for it. Any other refusal (no stream, no answer) refuses it.
 */
export const STREAM_MAX_BYTES = 1024 * 1024 * 1024
export const STREAM_MAX_AGE_MS = 7 * 24 * 3600 * 1000
/** Marks of acknowledged copies are pruned (./applied.ts) every this many acks. */
const PRUNE_EVERY = 500
/** Copies delivered to a node and not yet acked, at most. */
const MAX_ACK_PENDING = 10_000

/** A node name as a NATS token and consumer name: itself when it is one, else a hash of it. */
export function nodeToken(name: string): string {
  if (/^[A-Za-z0-9_-]{1,48}$/.test(name)) return name
  return `h${createHash('sha256').update(name).digest('hex').slice(0, 24)}`
}

export function durableStreamName(prefix = 'mqtt'): string {
  return `MQTT_DURABLE_${prefix.replaceAll('.', '_')}`
}

/** What the durable path needs from the broker besides ClusterHost. */
export interface DurableHost extends Pick<ClusterHost, 'logger' | 'clock' | 'deliverLocal' | 'deliverTo' | 'applied'> {
  /** cb() once what the local store holds now is durable (cb(err) when it cannot be). */
  whenStored(cb: (err?: Error) => void): void
}

export class DurableQueue {
  readonly stream: string
  readonly token: string
  readonly #prefix: string
  readonly #nc: NatsConnection
  readonly #js: JetStreamClient
  readonly #replicas: number
  readonly #host: DurableHost
  readonly #stats: ClusterStats
  readonly #own: SubjectMap
  readonly #maps = new Map<string, SubjectMap>()
  readonly #seen = new Set<string>()
  readonly #runId: string
  #seq = 0
  #messages: ConsumerMessages | undefined
  #stopped = false
  #lastDropLog = -Infinity
  readonly #ackWaitMs: number
  #jsm: JetStreamManager | undefined
  #acked = 0
  #pruning = false
  readonly #handovers = new Map<string, {holder: string; upTo: number}>()
  readonly #handoverIndex = new SubscriptionIndex({cacheSize: 0})
  readonly #hooks: ClusterHooks

  constructor(nc: NatsConnection, prefix: string, token: string, runId: string, replicas: number, host: DurableHost, stats: ClusterStats, options: {ackWaitMs?: number; hooks?: ClusterHooks} = {}) {
    this.#nc = nc
    this.#js = nc.jetstream()
    this.#prefix = prefix
    this.token = token
    this.#runId = runId
    this.stream = durableStreamName(prefix)
    this.#replicas = replicas
    this.#host = host
    this.#stats = stats
    this.#own = this.#map(token)
    this.#ackWaitMs = options.ackWaitMs ?? 30_000
    this.#hooks = options.hooks ?? {}
  }

  #map(token: string): SubjectMap {
    let m = this.#maps.get(token)
    if (m === undefined) {
      if (this.#maps.size > 4096) this.#maps.clear()
      m = new SubjectMap({prefix: this.#prefix}, `d.${token}`)
      this.#maps.set(token, m)
    }
    return m
  }

  /** Makes sure the stream and this node's consumer exist, then reads this node's copies. */
  async start(): Promise<void> {
    const jsm = (this.#jsm = await this.#nc.jetstreamManager())
    await ensureStream(jsm, {
      name: this.stream,
      subjects: [`${this.#prefix}.d.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_bytes: STREAM_MAX_BYTES,
      max_age: nanos(STREAM_MAX_AGE_MS),
      num_replicas: this.#replicas,
    })
    const durable = `node_${this.token}`
    const info = await jsm.consumers.add(this.stream, {
      durable_name: durable,
      filter_subject: this.#own.all,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.#ackWaitMs),
      max_ack_pending: MAX_ACK_PENDING,
    })
    if (this.#stopped) return
    // Marks of copies JetStream confirmed before a crash let go of them (the rest wait for their copy).
    this.#host.applied?.prune(info.ack_floor.stream_seq)
    const consumer = await this.#js.consumers.get(this.stream, durable)
    const messages = (this.#messages = await consumer.consume({max_messages: 256}))
    void (async () => {
      for await (const m of messages) this.#receive(m)
    })().catch((error: unknown) => {
      if (!this.#stopped) this.#host.logger.error(`cluster: JetStream reader of ${this.stream} stopped: ${(error as Error)?.message ?? error}`)
    })
  }

  /**
   * Publishes a copy of `msg` for each node in `targets`; resolves once JetStream acked every copy,
   * rejects with the first refusal.
   */
  publish(msg: Message, targets: string[]): Promise<void> {
    const now = this.#host.clock.now()
    const msgID = `${this.#runId}-${++this.#seq}`
    const copies = targets.map(async (token) => {
      const subject = this.#map(token).topic(msg.topic)
      if (subject === undefined) throw new Error(`topic too long for a NATS subject: ${JSON.stringify(msg.topic.slice(0, 100))}`)
      // Headers of its own per copy; JetStream's Nats-Msg-Id unique per copy (JetStream drops a
      // second message with the same id as a duplicate, whatever its subject), Mqtt-Id the message's.
      const headers = encodeHeaders(msg, now, {absoluteExpiry: true}) as MsgHdrs
      headers.set(ID_HEADER, msgID)
      headers.set(JS_HEADER, targets.join(',')) // every node that gets a copy (./orphans.ts hand-over)
      try {
        await this.#js.publish(subject, msg.payload, {headers, msgID: `${msgID}.${token}`, timeout: 5000})
      } catch (error) {
        // nats.js puts JetStream's reason in api_error (the message is only "503").
        const why = (error as {api_error?: {description?: unknown}})?.api_error?.description
        if (typeof why !== 'string' || !/maximum (bytes|messages)/i.test(why)) throw error
        this.#dropped(token, why)
        return
      }
      this.#stats.durableOut++
    })
    const all = copies.length === 1 ? copies[0] : Promise.all(copies).then(() => {})
    return all.catch((error: unknown) => {
      this.#stats.durableErrors++
      const why = (error as {api_error?: {description?: unknown}})?.api_error?.description ?? (error as Error)?.message ?? error
      throw new Error(`JetStream did not store the message for another node: ${why}`)
    })
  }

  /**
   * Forwards the queued and in-flight messages of a session this node lets go to node `token`, which
   * holds it now, as copies for that session only (FOR_HEADER); resolves once JetStream has them all.
   */
  async forward(clientId: string, deliveries: Delivery[], token: string): Promise<number> {
    const subjects = this.#map(token)
    const now = this.#host.clock.now()
    const sent = deliveries.map(async (d) => {
      const subject = subjects.topic(d.msg.topic)
      if (subject === undefined) return 0
      const headers = (encodeHeaders(d.msg, now, {absoluteExpiry: true}) ?? natsHeaders()) as MsgHdrs
      const id = `${this.#runId}-${++this.#seq}`
      headers.set(ID_HEADER, id)
      headers.set(FOR_HEADER, Buffer.from(clientId).toString('base64url'))
      await this.#js.publish(subject, d.msg.payload, {headers, msgID: `${id}.${token}`, timeout: 5000})
      return 1
    })
    return (await Promise.all(sent)).reduce<number>((a, b) => a + b, 0)
  }

  /** The stream is full: this copy is dropped, like a message for a full session queue. */
  #dropped(token: string, why: string): void {
    this.#stats.durableDropped++
    const now = this.#host.clock.now()
    if (now - this.#lastDropLog < 60_000) return
    this.#lastDropLog = now
    this.#host.logger.warn(`cluster: a QoS 1/2 copy for node ${token} was dropped: ${this.stream} is full (${why}; ${this.#stats.durableDropped} so far, logged once a minute); a node that is gone for good: nats consumer rm ${this.stream} node_<name>`)
  }

  #receive(m: JsMsg): void {
    const id = m.headers?.get(ID_HEADER) ?? ''
    const marks = this.#host.applied
    if (id !== '' && (this.#seen.has(id) || marks?.has(m.seq, id) === true)) {
      // Applied already (before a restart, too): acknowledged once what it wrote is durable.
      // Remembered in memory as well: JetStream may send it once more after the mark is gone.
      this.#remember(id)
      this.#stats.durableDuplicates++
      this.#host.whenStored((err) => (err === undefined ? this.#ack(m) : this.#nak(m)))
      return
    }
    const topic = this.#own.toTopic(m.subject)
    let msg: Message | undefined
    try {
      if (topic !== undefined) msg = decodeMessage(topic, Buffer.from(m.data), m.headers, this.#host.clock.now()).msg
    } catch (error) {
      if (!(error instanceof WireError)) throw error
    }
    if (msg === undefined) {
      this.#stats.malformed++
      m.term() // never again
      return
    }
    msg.owned = true // Buffer.from(m.data) is its own copy
    const remembered = this.#remember(id)
    this.#stats.durableIn++
    const only = m.headers?.get(FOR_HEADER) ?? ''
    try {
      if (only === '') this.#host.deliverLocal(msg)
      else if (!this.#host.deliverTo(Buffer.from(only, 'base64url').toString(), msg)) this.#stats.durableDropped++
    } catch (error) {
      this.#host.logger.error(`cluster: internal error delivering ${JSON.stringify(msg.topic)} from JetStream: ${(error as Error)?.stack ?? error}`)
    }
    const forwarded = topic === undefined ? undefined : this.#handOverCopy(m, msg, topic)
    // After the deliveries, so the store's journal makes both durable together (./applied.ts).
    if (remembered) marks?.mark(m.seq, id)
    this.#hooks.copyApplied?.()
    this.#host.whenStored((err) => {
      if (err !== undefined) {
        // Not stored here: JetStream sends it again later, and it is applied again then.
        this.#seen.delete(id)
        marks?.done(m.seq)
        return this.#nak(m)
      }
      this.#hooks.copyStored?.()
      if (forwarded === undefined) return this.#ack(m)
      forwarded.then(() => this.#ack(m), () => this.#nak(m))
    })
  }

  /**
   * Sessions let go here because another node took them over while this one was down (./orphans.ts):
   * copies after `upTo` (the last one that node read) matching their subscriptions go to it, unless
   * the publisher sent that node a copy itself (JS_HEADER).
   */
  handOver(clientId: string, subscriptions: Array<[string, SubOptions]>, holder: string, upTo: number): void {
    if (this.#handovers.size >= 100_000) return
    this.#handovers.set(clientId, {holder, upTo})
    for (const [filter, options] of subscriptions) if (!filter.startsWith('$share/')) this.#handoverIndex.subscribe(clientId, filter, options)
  }

  #handOverCopy(m: JsMsg, msg: Message, topic: string): Promise<unknown> | undefined {
    // A copy forwarded for one session (FOR_HEADER) is that session's only: never handed on.
    if (this.#handovers.size === 0 || (m.headers?.get(FOR_HEADER) ?? '') !== '') return undefined
    const got = (m.headers?.get(JS_HEADER) ?? '').split(',')
    const sends: Array<Promise<number>> = []
    for (const c of this.#handoverIndex.match(topic).clients) {
      const h = this.#handovers.get(c.clientId)
      if (h === undefined || m.seq <= h.upTo || got.includes(h.holder)) continue
      sends.push(this.forward(c.clientId, [{msg, qos: msg.qos, retain: msg.retain, packetId: 0, sent: false, released: false}], h.holder))
    }
    return sends.length === 0 ? undefined : Promise.all(sends)
  }

  /** Keeps `id` among the last DEDUPE_IDS (false: no usable id). */
  #remember(id: string): boolean {
    if (id === '' || id.length > 64) return false
    if (this.#seen.has(id)) return true
    if (this.#seen.size >= DEDUPE_IDS) this.#seen.delete(this.#seen.values().next().value as string)
    this.#seen.add(id)
    return true
  }

  /**
   * Acknowledged. The copy's mark goes once JetStream's acknowledgement floor passed it (an ack lost
   * on the way leaves the floor behind and the mark in place): the floor is read every PRUNE_EVERY
   * acks, one request for all of them (a confirmed ack per copy, ackAck, cost ~100 us more CPU each).
   */
  #ack(m: JsMsg): void {
    if (this.#stopped) return // the connection is closing: JetStream sends it again, the mark recognises it
    try {
      m.ack()
    } catch {
      return
    }
    if (++this.#acked % PRUNE_EVERY === 0 && this.#host.applied !== undefined) void this.#prune()
  }

  async #prune(): Promise<void> {
    if (this.#pruning || this.#jsm === undefined) return
    this.#pruning = true
    try {
      await this.#nc.flush() // the acks before it reached the server
      const info = await this.#jsm.consumers.info(this.stream, `node_${this.token}`)
      this.#host.applied?.prune(info.ack_floor.stream_seq)
    } catch {
      // Kept until the next prune; bounded (./applied.ts MAX_MARKS).
    } finally {
      this.#pruning = false
    }
  }

  #nak(m: JsMsg): void {
    try {
      if (!this.#stopped) m.nak(1000)
    } catch {}
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#messages?.close()
  }
}

/** Is this node (token) named in a core copy's Mqtt-Js header (it gets the JetStream copy instead)? */
export function viaJetStream(headers: MsgHdrs | undefined, token: string): boolean {
  if (headers === undefined) return false
  const v = headers.get(JS_HEADER)
  return v !== '' && v.split(',').includes(token)
}
