/**
 * Durable interest across nodes, kept in JetStream so that it outlives every process: which node
 * (stable token) has a persistent session subscribed at QoS 1/2 to which filter (./durable-subs.ts
 * finds them). One record per (node, filter) in the stream MQTT_DINT_<prefix>, subject
 * "<prefix>.n.dk.<token>.<sha256(filter), base64url>", one message per subject: the filter as payload,
 * or an empty payload once the node no longer has it. Every node reads the stream with an ordered
 * consumer (last message per subject, then live), so a node that starts while another is down still
 * knows the other's filters and writes its copies for it (./durable.ts). On start, a node rewrites its
 * own records to match its sessions (filters of sessions that expired while it was down go).
 * Records from the network are checked (valid filter); a bad one is ignored. Bounded (DurableLimits):
 * a record past the limits is ignored and logged once, as copies for that filter are not written
 * for that node (its persistent sessions miss them while they are offline).
 */
import {createHash} from 'node:crypto'
import {type ConsumerMessages, DeliverPolicy, DiscardPolicy, type JetStreamClient, type NatsConnection, StorageType} from 'nats'
import type {Logger} from '../log.js'
import {formatInt} from '../stats/format.js'
import {validateTopicFilter} from '../protocol/topics.js'
import {SubscriptionIndex} from '../topics/index.js'
import type {SubOptions} from '../topics/types.js'

const OPTS: SubOptions = {qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0}
const MAX_PEERS = 4_096
/** A record's estimated cost beyond its filter's characters (the key, the Map entry, its node in the index). */
const ENTRY_BYTES = 200

export interface DurableLimits {
  /** Filters of one node (default 1,000,000). */
  maxFiltersPerPeer: number
  /** Estimated bytes of every node's records together (default 1 GiB). */
  maxBytes: number
}
export const DEFAULT_DURABLE_LIMITS: DurableLimits = {maxFiltersPerPeer: 1_000_000, maxBytes: 1024 ** 3}
const TOKEN = /^[A-Za-z0-9_-]{1,48}$/

export function durableInterestStreamName(prefix = 'mqtt'): string {
  return `MQTT_DINT_${prefix.replaceAll('.', '_')}`
}

export interface DurableSink {
  added(filter: string): void
  removed(filter: string): void
}

export class DurableInterest implements DurableSink {
  readonly #counts = new Map<string, number>()
  readonly #index = new SubscriptionIndex({cacheSize: 10_000})
  /** token -> its filters as the stream says, by record key. */
  readonly #peers = new Map<string, Map<string, string>>()
  #js: JetStreamClient | undefined
  #base = ''
  #token = ''
  #messages: ConsumerMessages | undefined
  #logger: Logger | undefined
  #errors = 0
  /** Estimated bytes of the records held, and whether a refusal was logged. */
  #bytes = 0
  #refusedLogged = false
  readonly #limits: DurableLimits

  constructor(limits: DurableLimits = DEFAULT_DURABLE_LIMITS) {
    this.#limits = limits
  }

  /** Estimated bytes of the records held here. */
  get heldBytes(): number {
    return this.#bytes
  }

  /** Makes sure the stream exists, loads every record, rewrites this node's own; then follows it live. */
  async start(nc: NatsConnection, prefix: string, token: string, replicas: number, logger: Logger): Promise<void> {
    this.#logger = logger
    const jsm = await nc.jetstreamManager()
    const stream = durableInterestStreamName(prefix)
    const base = `${prefix}.n.dk`
    let last = 0
    try {
      last = (await jsm.streams.info(stream)).state.last_seq
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error
      await jsm.streams.add({name: stream, subjects: [`${base}.>`], max_msgs_per_subject: 1, storage: StorageType.File, discard: DiscardPolicy.Old, num_replicas: replicas})
    }
    const js = nc.jetstream()
    const consumer = await js.consumers.get(stream, {filterSubjects: `${base}.>`, deliver_policy: DeliverPolicy.LastPerSubject})
    const messages = (this.#messages = await consumer.consume())
    let loaded: () => void = () => {}
    const done = last === 0 ? Promise.resolve() : new Promise<void>((resolve) => (loaded = resolve))
    void (async () => {
      for await (const m of messages) {
        this.#apply(m.subject.slice(base.length + 1), m.data)
        if (m.seq >= last) loaded()
      }
    })().catch(() => {})
    await done
    this.#js = js
    this.#base = base
    this.#token = token
    this.#reconcile()
  }

  /** This node's records: what its sessions have now, nothing else (at start, and after a reconnect: writes may have failed). */
  #reconcile(): void {
    const stored = new Set(this.#peers.get(this.#token)?.values() ?? [])
    for (const f of stored) if (!this.#counts.has(f)) this.#write(f, false)
    for (const f of this.#counts.keys()) if (!stored.has(f)) this.#write(f, true)
  }

  /** The link is back. */
  rejoined(): void {
    if (this.#js !== undefined) this.#reconcile()
  }

  async stop(): Promise<void> {
    this.#js = undefined
    await this.#messages?.close()
  }

  added(filter: string): void {
    const n = this.#counts.get(filter) ?? 0
    this.#counts.set(filter, n + 1)
    if (n === 0) this.#write(filter, true)
  }

  removed(filter: string): void {
    const n = this.#counts.get(filter)
    if (n === undefined) return
    if (n > 1) return void this.#counts.set(filter, n - 1)
    this.#counts.delete(filter)
    this.#write(filter, false)
  }

  /** Tokens of the other nodes with a persistent session subscribed to `topic` at QoS 1/2. */
  wanting(topic: string): string[] {
    const clients = this.#index.match(topic).clients
    if (clients.length === 0) return []
    const tokens = new Set<string>()
    for (const c of clients) if (c.clientId !== this.#token) tokens.add(c.clientId)
    return [...tokens]
  }

  #write(filter: string, present: boolean): void {
    const js = this.#js
    if (js === undefined) return // start() writes the whole list
    const key = createHash('sha256').update(filter).digest('base64url')
    js.publish(`${this.#base}.${this.#token}.${key}`, present ? Buffer.from(filter) : Buffer.alloc(0)).catch((error: unknown) => {
      if (this.#errors++ === 0) this.#logger?.warn(`cluster: could not record durable interest in JetStream: ${(error as Error)?.message ?? error}; other nodes learn it when this node restarts`)
    })
  }

  #refused(token: string): void {
    if (this.#refusedLogged) return
    this.#refusedLogged = true
    const {maxFiltersPerPeer, maxBytes} = this.#limits
    this.#logger?.error(`cluster: durable interest of node ${token} past what this node keeps (${MAX_PEERS} nodes, ${formatInt(maxFiltersPerPeer)} filters per node, ${formatInt(maxBytes)} bytes for all): QoS 1/2 copies for the filters left out are not written for it (logged once)`)
  }

  /** A record "<token>.<key>": the filter, or empty when gone. */
  #apply(rest: string, data: Uint8Array): void {
    const dot = rest.indexOf('.')
    const token = rest.slice(0, Math.max(dot, 0))
    if (!TOKEN.test(token)) return // what nodeToken() makes
    const key = rest.slice(dot + 1)
    let filters = this.#peers.get(token)
    if (data.length === 0) {
      const gone = filters?.get(key)
      if (gone === undefined) return
      filters!.delete(key)
      this.#bytes -= gone.length + ENTRY_BYTES
      this.#index.unsubscribe(token, gone)
      return
    }
    if (data.length > 65_535) return
    const filter = Buffer.from(data).toString()
    if (validateTopicFilter(filter) !== undefined || filter.startsWith('$share/')) return
    if (createHash('sha256').update(filter).digest('base64url') !== key) return
    if (filters?.has(key)) return
    if ((filters === undefined && this.#peers.size >= MAX_PEERS) || (filters?.size ?? 0) >= this.#limits.maxFiltersPerPeer || this.#bytes + filter.length + ENTRY_BYTES > this.#limits.maxBytes) {
      return this.#refused(token)
    }
    if (filters === undefined) this.#peers.set(token, (filters = new Map()))
    filters.set(key, filter)
    this.#bytes += filter.length + ENTRY_BYTES
    this.#index.subscribe(token, filter, OPTS)
  }
}
