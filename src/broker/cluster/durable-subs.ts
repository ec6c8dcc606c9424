/**
 * Which local filters belong to persistent sessions subscribed at QoS 1/2: the ones other nodes send
 * through JetStream (./durable.ts). Watches the broker's Subscriptions service (its add / remove /
 * removeAll / restore / unrestore, wrapped on this instance only) and tells `sink` when a
 * (client, filter) pair becomes durable interest or stops being it. A session is persistent when its
 * expiry interval is above 0 at the time it subscribes; shared subscriptions stay on core NATS.
 * DurableInterest (below) counts them and shares them with the other nodes.
 */
import type {NatsConnection} from 'nats'
import {systemClock} from '../clock.js'
import type {SessionRecord} from '../persistence/store.js'
import type {Subscriptions} from '../subscriptions.js'
import type {SubOptions} from '../topics/types.js'
import {RemoteInterest} from './interest.js'

export interface DurableSink {
  added(filter: string): void
  removed(filter: string): void
}

export function watchDurableSubscriptions(subs: Subscriptions, sink: DurableSink): void {
  /** client id -> its durable filters. */
  const held = new Map<string, Set<string>>()
  const update = (session: SessionRecord, filter: string, options: SubOptions | undefined): void => {
    const durable = options !== undefined && options.qos > 0 && session.expiryInterval > 0 && !filter.startsWith('$share/')
    let set = held.get(session.clientId)
    const had = set?.has(filter) ?? false
    if (durable === had) return
    if (durable) {
      if (set === undefined) held.set(session.clientId, (set = new Set()))
      set.add(filter)
      sink.added(filter)
    } else {
      set!.delete(filter)
      if (set!.size === 0) held.delete(session.clientId)
      sink.removed(filter)
    }
  }
  const dropAll = (session: SessionRecord): void => {
    const set = held.get(session.clientId)
    if (set === undefined) return
    held.delete(session.clientId)
    for (const f of set) sink.removed(f)
  }
  const {add, remove, removeAll, restore, unrestore} = subs
  subs.add = function (session, filter, options) {
    const r = add.call(this, session, filter, options)
    update(session, filter, options)
    return r
  }
  subs.remove = function (session, filter) {
    const r = remove.call(this, session, filter)
    update(session, filter, undefined)
    return r
  }
  subs.removeAll = function (session) {
    dropAll(session)
    removeAll.call(this, session)
  }
  subs.restore = function (session) {
    restore.call(this, session)
    for (const [filter, options] of session.subscriptions) update(session, filter, options)
  }
  subs.unrestore = function (session) {
    dropAll(session)
    unrestore.call(this, session)
  }
}

/**
 * Durable interest across nodes: this node's durable filters (counted) announced on RemoteInterest
 * channel "dint" under the node's stable token, and the other nodes' as they announced them.
 */
export class DurableInterest implements DurableSink {
  readonly #counts = new Map<string, number>()
  #remote: RemoteInterest | undefined

  /** The link is up: announce this node's list, learn the others'. */
  start(nc: NatsConnection, prefix: string, token: string): void {
    // Network timing, not protocol time: the system clock even when the broker's is manual.
    this.#remote = new RemoteInterest(nc, prefix, token, () => systemClock.now(), 0, 'dint')
    this.#remote.start(() => this.#counts.keys())
  }

  /** The link is back: announce again, ask again. */
  rejoined(): void {
    this.#remote?.joined(() => this.#counts.keys())
  }

  added(filter: string): void {
    const n = this.#counts.get(filter) ?? 0
    this.#counts.set(filter, n + 1)
    if (n === 0) this.#remote?.added(filter)
  }

  removed(filter: string): void {
    const n = this.#counts.get(filter)
    if (n === undefined) return
    if (n > 1) return void this.#counts.set(filter, n - 1)
    this.#counts.delete(filter)
    this.#remote?.removed(filter)
  }

  /** Tokens of the other nodes with a persistent session subscribed to `topic` at QoS 1/2. */
  wanting(topic: string): string[] {
    return this.#remote?.wanting(topic) ?? []
  }
}
