/**
 * This node's interest as NATS subscriptions: every local subscription filter is a NATS subscription
 * on its subjects (./subjects.ts; reference-counted, so 10,000 clients on "a/#" are two NATS
 * subscriptions), so NATS sends a node only what its clients want.
 *
 *   - plain filters live on the `main` connection (no echo: our own messages never come back);
 *   - shared subscriptions ($share/<group>/<filter> = NATS queue group per (group, filter)) live on
 *     the `shared` connection, so NATS picks one node of the whole cluster for each message, this
 *     node included.
 *
 * Overlapping filters (a node with "a/#" and "a/+") receive one NATS copy per matching subscription;
 * a small index of the node's own filters picks the one subscription that handles a topic, so each
 * message is delivered once.
 */
import type {Msg, NatsConnection, Subscription} from 'nats'
import type {Message} from '../message.js'
import {SubscriptionIndex} from '../topics/index.js'
import type {ClusterHost, ClusterStats} from './host.js'
import type {SubjectMap} from './subjects.js'
import {WireError, decodeMessage} from './wire.js'

interface Interest {
  count: number
  subs: Subscription[]
}

export interface FilterEvents {
  /** A filter gained its first local subscriber / lost its last one (announced to the other nodes). */
  added(filter: string): void
  removed(filter: string): void
  /** A filter no NATS subject can carry (counted and logged by the node). */
  unmapped(filter: string): void
  /** Should a plain message from NATS be skipped here (it comes through JetStream instead)? */
  skip?(m: Msg): boolean
}

export class NatsFilters {
  readonly #map: SubjectMap
  readonly #host: ClusterHost
  readonly #stats: ClusterStats
  readonly #events: FilterEvents
  readonly #plain = new Map<string, Interest>()
  readonly #queues = new Map<string, Interest>()
  /** This node's plain filters, to pick the one NATS subscription that handles a topic. */
  readonly #own = new SubscriptionIndex({cacheSize: 10_000})
  #main: NatsConnection | undefined
  #shared: NatsConnection | undefined

  constructor(map: SubjectMap, host: ClusterHost, stats: ClusterStats, events: FilterEvents) {
    this.#map = map
    this.#host = host
    this.#stats = stats
    this.#events = events
  }

  /** Every filter this node has (plain and shared), for interest announcements. */
  all(): string[] {
    return [...this.#plain.keys(), ...this.#queues.keys()]
  }

  /** The link is up: filters that arrived before it are subscribed now. */
  attach(main: NatsConnection, shared: NatsConnection): void {
    this.#main = main
    this.#shared = shared
    for (const [filter, interest] of this.#plain) if (interest.subs.length === 0) interest.subs = this.#subscribePlain(filter)
    for (const [name, interest] of this.#queues) if (interest.subs.length === 0) interest.subs = this.#subscribeQueue(name)
  }

  add(filter: string): void {
    const f = this.#map.filter(filter)
    const table = f.queue === undefined ? this.#plain : this.#queues
    const known = table.get(filter)
    if (known !== undefined) {
      known.count++
      return
    }
    if (f.subjects.length === 0) this.#events.unmapped(filter)
    const interest: Interest = {count: 1, subs: []}
    table.set(filter, interest)
    this.#events.added(filter)
    if (f.queue === undefined) this.#own.subscribe(filter, filter, {qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0})
    if (this.#main !== undefined) interest.subs = f.queue === undefined ? this.#subscribePlain(filter) : this.#subscribeQueue(filter)
  }

  remove(filter: string): void {
    const f = this.#map.filter(filter)
    const table = f.queue === undefined ? this.#plain : this.#queues
    const known = table.get(filter)
    if (known === undefined) return
    if (--known.count > 0) return
    table.delete(filter)
    this.#events.removed(filter)
    if (f.queue === undefined) this.#own.unsubscribe(filter, filter)
    for (const s of known.subs) s.unsubscribe()
    this.#stats.natsSubscriptions -= known.subs.length
  }

  #subscribePlain(filter: string): Subscription[] {
    const main = this.#main!
    const {subjects} = this.#map.filter(filter)
    const subs = subjects.map((subject) => main.subscribe(subject, {callback: (err, m) => err === null && this.#onPlain(filter, m)}))
    this.#stats.natsSubscriptions += subs.length
    return subs
  }

  #subscribeQueue(name: string): Subscription[] {
    const shared = this.#shared!
    const {subjects, queue} = this.#map.filter(name)
    const subs = subjects.map((subject) => shared.subscribe(subject, {queue, callback: (err, m) => err === null && this.#onShared(name, m)}))
    this.#stats.natsSubscriptions += subs.length
    return subs
  }

  #decode(m: Msg): Message | undefined {
    const topic = this.#map.toTopic(m.subject)
    if (topic === undefined) {
      this.#stats.malformed++
      return undefined
    }
    try {
      return decodeMessage(topic, m.data, m.headers, this.#host.clock.now()).msg
    } catch (error) {
      if (!(error instanceof WireError)) throw error
      this.#stats.malformed++
      return undefined
    }
  }

  #onPlain(filter: string, m: Msg): void {
    const topic = this.#map.toTopic(m.subject)
    if (topic === undefined) {
      this.#stats.malformed++
      return
    }
    // Several of our subscriptions match this topic: only the first filter's handles it.
    const mine = this.#own.match(topic).clients
    if (mine.length > 1 && mine[0].clientId !== filter) return
    if (this.#events.skip?.(m)) return
    const msg = this.#decode(m)
    if (msg === undefined) return
    this.#stats.imported++
    try {
      this.#host.deliverLocal(msg)
    } catch (error) {
      this.#host.logger.error(`cluster: internal error delivering ${JSON.stringify(topic)}: ${(error as Error)?.stack ?? error}`)
    }
  }

  #onShared(name: string, m: Msg): void {
    const msg = this.#decode(m)
    if (msg === undefined) return
    this.#stats.importedShared++
    try {
      this.#host.deliverShared(msg, name)
    } catch (error) {
      this.#host.logger.error(`cluster: internal error delivering ${JSON.stringify(msg.topic)} to ${name}: ${(error as Error)?.stack ?? error}`)
    }
  }
}
