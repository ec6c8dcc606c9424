/**
 * SubscriptionIndex: who receives a PUBLISH on a topic. A level trie (./trie.ts) answers a topic in
 * O(levels) regardless of the number of subscriptions, and a bounded cache (./match-cache.ts) makes
 * the repeat case one Map lookup with no allocation. Shared subscriptions ($share/<group>/<filter>,
 * MQTT 5 §4.8.2) live in one group per (share name, filter) on the filter's node (./shared.ts).
 */
import type {BrokerStats} from '../stats/counters.js'
import {parseShared} from '../protocol/topics.js'
import {MatchCache} from './match-cache.js'
import {internOptions} from './options.js'
import {SharedGroup, pickFirst} from './shared.js'
import {TrieNode, collect, countNodes, find, insert, prune} from './trie.js'
import type {ClientMatch, MatchResult, SharedMatch, SubOptions} from './types.js'

export type {ClientMatch, MatchResult, SharedMatch, SubOptions} from './types.js'

export interface SubscriptionIndexOptions {
  /** Max topics in the match cache; 0 disables it. */
  cacheSize: number
  /** Estimated bytes the match cache may hold (limits.matchCacheBytes); default no bound. */
  cacheBytes?: number
  /** Wildcard (un)subscribes scan at most this many cached topics, above it they clear the cache. */
  cacheScanLimit?: number
  stats?: BrokerStats
}

const NO_IDS = Object.freeze([]) as unknown as number[]
const NO_SHARED = Object.freeze([]) as unknown as SharedMatch[]
const NO_CLIENTS = Object.freeze([]) as unknown as ClientMatch[]
const NO_MATCH: MatchResult = Object.freeze({clients: NO_CLIENTS, shared: NO_SHARED})

export class SubscriptionIndex {
  readonly #root = new TrieNode('')
  readonly #cache: MatchCache
  readonly #stats: BrokerStats | undefined
  /** Scratch for the matching nodes of a cache miss (match is synchronous; stale slots are harmless). */
  readonly #found: TrieNode[] = []
  #count = 0

  constructor(opts: SubscriptionIndexOptions) {
    this.#cache = new MatchCache({maxEntries: opts.cacheSize, scanLimit: opts.cacheScanLimit, maxBytes: opts.cacheBytes})
    this.#stats = opts.stats
    if (this.#stats) this.#stats.subscriptions = 0
  }

  /** Number of (client, filter) subscriptions, shared ones included. */
  get size(): number {
    return this.#count
  }

  /** Topics currently in the match cache. */
  get cachedTopics(): number {
    return this.#cache.size
  }

  /** Trie nodes, the root included (tests and the memory benchmark). */
  nodeCount(): number {
    return countNodes(this.#root)
  }

  /** Cache entries dropped by (un)subscribe so far, and whole-cache clears among them. */
  get cacheInvalidations(): {entries: number; clears: number} {
    return {entries: this.#cache.invalidated, clears: this.#cache.clears}
  }

  /**
   * Adds the subscription, or replaces the options of the same client + filter
   * [MQTT-3.8.4-3]. The filter must already be valid (validateTopicFilter).
   */
  subscribe(clientId: string, filter: string, options: SubOptions): {isNew: boolean} {
    const opts = internOptions(options)
    const share = parseShared(filter)
    let isNew: boolean
    if (share === undefined) {
      const node = insert(this.#root, filter.split('/'))
      node.filter ??= filter
      node.memo = undefined
      isNew = node.setSub(clientId, opts)
    } else {
      const node = insert(this.#root, share.filter.split('/'))
      node.shared ??= new Map()
      let group = node.shared.get(share.group)
      if (group === undefined) {
        group = new SharedGroup(share.group, share.filter)
        node.shared.set(share.group, group)
      }
      node.memo = undefined
      isNew = group.upsert(clientId, opts)
    }
    if (isNew) this.#changeCount(1)
    this.#cache.invalidate(share === undefined ? filter : share.filter)
    return {isNew}
  }

  /** Removes the subscription; false when the client had no subscription on this filter. */
  unsubscribe(clientId: string, filter: string): boolean {
    const share = parseShared(filter)
    const levels = (share === undefined ? filter : share.filter).split('/')
    const node = find(this.#root, levels)
    if (node === undefined) return false
    node.memo = undefined
    if (share === undefined) {
      if (!node.deleteSub(clientId)) return false
      if (!node.hasSubs) node.filter = undefined
    } else {
      const group = node.shared?.get(share.group)
      if (group === undefined || !group.remove(clientId)) return false
      if (group.members.length === 0) node.shared!.delete(share.group)
      if (node.shared!.size === 0) node.shared = undefined
    }
    prune(this.#root, levels)
    this.#changeCount(-1)
    this.#cache.invalidate(share === undefined ? filter : share.filter)
    return true
  }

  /**
   * Everyone subscribed to `topic` (a valid topic name). The result is cached and shared: do not
   * modify it. [MQTT-4.7.2-1] '+'/'#' first-level filters do not match '$' topics.
   */
  match(topic: string): MatchResult {
    const hit = this.#cache.get(topic)
    if (hit !== undefined) {
      if (this.#stats) this.#stats.matchCacheHits++
      return hit
    }
    if (this.#stats) this.#stats.matchCacheMisses++
    const result = this.#compute(topic)
    this.#cache.set(topic, result)
    return result
  }

  /** The live group of a "$share/<group>/<filter>" subscription, if it has members (no match, no cache). */
  sharedGroup(name: string): SharedMatch | undefined {
    const share = parseShared(name)
    if (share === undefined) return undefined
    return find(this.#root, share.filter.split('/'))?.shared?.get(share.group)
  }

  /** Round robin within the group, skipping members for which `usable` returns false. */
  pickShared(
    group: SharedMatch,
    usable?: (clientId: string) => boolean,
  ): {clientId: string; options: SubOptions} | undefined {
    return group instanceof SharedGroup ? group.pick(usable) : pickFirst(group, usable)
  }

  #changeCount(delta: number): void {
    this.#count += delta
    if (this.#stats) this.#stats.subscriptions = this.#count
  }

  #compute(topic: string): MatchResult {
    const found = this.#found
    const n = collect(this.#root, topic, found)
    if (n === 0) return NO_MATCH
    if (n === 1) return (found[0].memo ??= buildOne(found[0]))
    return build(found, n)
  }
}

/** The result when `node` is the only match: no merging, arrays of exact size (it is kept). */
function buildOne(node: TrieNode): MatchResult {
  const shared = node.shared === undefined ? NO_SHARED : Array.from<SharedMatch>(node.shared.values())
  let clients = NO_CLIENTS
  if (node.oneClient !== undefined) {
    clients = [clientMatch(node.oneClient, node.filter!, node.oneOptions!)]
  } else if (node.subs !== undefined) {
    clients = new Array<ClientMatch>(node.subs.size)
    let i = 0
    for (const [clientId, options] of node.subs) clients[i++] = clientMatch(clientId, node.filter!, options)
  }
  return clients.length === 0 && shared.length === 0 ? NO_MATCH : {clients, shared}
}

function build(found: readonly TrieNode[], n: number): MatchResult {
  const clients: ClientMatch[] = []
  let shared = NO_SHARED
  // Merging needs a lookup only once a second node with subscribers shows up.
  let byId: Map<string, ClientMatch> | undefined
  let nodesWithSubs = 0
  for (let i = 0; i < n; i++) {
    const node = found[i]
    if (node.shared !== undefined) {
      if (shared === NO_SHARED) shared = []
      for (const group of node.shared.values()) shared.push(group)
    }
    if (!node.hasSubs) continue
    if (++nodesWithSubs === 2) byId = new Map(clients.map((c) => [c.clientId, c]))
    const filter = node.filter!
    if (node.oneClient !== undefined) {
      addClient(clients, byId, node.oneClient, filter, node.oneOptions!)
    } else {
      for (const [clientId, options] of node.subs!) addClient(clients, byId, clientId, filter, options)
    }
  }
  if (clients.length === 0 && shared.length === 0) return NO_MATCH
  return {clients, shared}
}

function clientMatch(clientId: string, filter: string, options: SubOptions): ClientMatch {
  return {
    clientId,
    qos: options.qos,
    retainAsPublished: options.retainAsPublished,
    subscriptionIds: options.subscriptionId === undefined ? NO_IDS : [options.subscriptionId],
    anyNoLocal: options.noLocal,
    subs: [{filter, options}],
  }
}

function addClient(
  clients: ClientMatch[],
  byId: Map<string, ClientMatch> | undefined,
  clientId: string,
  filter: string,
  options: SubOptions,
): void {
  const existing = byId?.get(clientId)
  if (existing === undefined) {
    const match = clientMatch(clientId, filter, options)
    clients.push(match)
    byId?.set(clientId, match)
    return
  }
  // Overlapping subscriptions of one client: one delivery (MQTT 5 §4.7.2 lets the server merge), at
  // the max QoS, carrying every subscription identifier [MQTT-3.3.4-3] [MQTT-3.3.4-5].
  if (options.qos > existing.qos) existing.qos = options.qos
  if (options.retainAsPublished) existing.retainAsPublished = true
  if (options.noLocal) existing.anyNoLocal = true
  if (options.subscriptionId !== undefined) {
    if (existing.subscriptionIds === NO_IDS) existing.subscriptionIds = []
    existing.subscriptionIds.push(options.subscriptionId)
  }
  existing.subs.push({filter, options})
}
