/**
 * Subscriptions: the one service that changes who is subscribed. It keeps the subscription index (the
 * trie that answers "who receives this topic") and the session's copy in the store (what survives a
 * restart) in step: handlers and sessions never touch one without the other.
 */
import type {SessionRecord, Store} from './persistence/store.js'
import type {BrokerStats} from './stats/counters.js'
import {SubscriptionIndex} from './topics/index.js'
import type {MatchResult, SharedMatch, SubOptions} from './topics/types.js'

export interface SubscriptionsDeps {
  readonly store: Store
  readonly stats: BrokerStats
  /** Max topics in the match cache (limits.matchCacheSize); 0 disables it. */
  readonly matchCacheSize: number
  /** Estimated bytes the match cache may hold (limits.matchCacheBytes). */
  readonly matchCacheBytes?: number
}

/** Told when a (client, filter) subscription appears or goes (a cluster node turns that into NATS interest). */
export interface SubscriptionObserver {
  added(filter: string): void
  removed(filter: string): void
}

export class Subscriptions {
  /** The trie and match cache (read it for sizes; change subscriptions through this service). */
  readonly index: SubscriptionIndex
  readonly #store: Store
  /** Set by a cluster node; undefined in a single process. */
  observer: SubscriptionObserver | undefined

  constructor(deps: SubscriptionsDeps) {
    this.#store = deps.store
    this.index = new SubscriptionIndex({cacheSize: deps.matchCacheSize, cacheBytes: deps.matchCacheBytes, stats: deps.stats})
  }

  /** (client, filter) subscriptions, shared ones included. */
  get size(): number {
    return this.index.size
  }

  /** Adds or replaces the session's subscription to a valid filter; isNew: there was none. */
  add(session: SessionRecord, filter: string, options: SubOptions): {isNew: boolean} {
    const r = this.index.subscribe(session.clientId, filter, options)
    this.#store.addSubscription(session, filter, options)
    if (r.isNew) this.observer?.added(filter)
    return r
  }

  /** Removes it; false when the session had no subscription on this filter. */
  remove(session: SessionRecord, filter: string): boolean {
    const existed = this.index.unsubscribe(session.clientId, filter)
    this.#store.removeSubscription(session, filter)
    if (existed) this.observer?.removed(filter)
    return existed
  }

  /** Session end: every subscription of the session leaves the index (the store drops the session itself). */
  removeAll(session: SessionRecord): void {
    for (const filter of session.subscriptions.keys()) if (this.index.unsubscribe(session.clientId, filter)) this.observer?.removed(filter)
    session.subscriptions.clear()
  }

  /** A store's persisted sessions at start: their subscriptions go back into the index. */
  restore(session: SessionRecord): void {
    for (const [filter, options] of session.subscriptions) if (this.index.subscribe(session.clientId, filter, options).isNew) this.observer?.added(filter)
  }

  /** Undoes restore() (a failed listen()). */
  unrestore(session: SessionRecord): void {
    for (const filter of session.subscriptions.keys()) if (this.index.unsubscribe(session.clientId, filter)) this.observer?.removed(filter)
  }

  /** Everyone subscribed to `topic` (cached and shared: do not modify). */
  match(topic: string): MatchResult {
    return this.index.match(topic)
  }

  sharedGroup(name: string): SharedMatch | undefined {
    return this.index.sharedGroup(name)
  }

  pickShared(group: SharedMatch, usable?: (clientId: string) => boolean): {clientId: string; options: SubOptions} | undefined {
    return this.index.pickShared(group, usable)
  }
}
