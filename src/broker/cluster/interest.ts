/**
 * Which other nodes want a topic, so a node does not hand NATS a message nobody else subscribed to
 * (a NATS publish costs more CPU than the whole local delivery: measured 3-7 us against ~2 us).
 *
 * Every node announces its filters ("<prefix>.n.int": {id, op: "+"|"-"|"=", filters}) when the first
 * local subscriber of a filter arrives or the last one leaves, and its whole list ("=") when it joins
 * or rejoins and when another node asks ("<prefix>.n.sync"). Each node keeps the others' filters in
 * a subscription index keyed by node id, so "does anyone else want this topic" is one cached match.
 * Until the first answers arrived (and for SYNC_GRACE_MS after joining), every message is exported:
 * in doubt, export. A node silent for PEER_TIMEOUT_MS (no figures, no announcements) is forgotten.
 * Bounded against a misbehaving publisher on the prefix (InterestLimits): a peer whose list goes past
 * them is in doubt too, so every message is exported until its next whole list fits: nothing is lost,
 * only the saving (logged once per episode).
 */
import type {Msg, NatsConnection} from 'nats'
import type {Logger} from '../log.js'
import {formatInt} from '../stats/format.js'
import {SubscriptionIndex} from '../topics/index.js'
import type {SubOptions} from '../topics/types.js'

const OPTS: SubOptions = {qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0}
/** Filters per announcement message (a whole list is sent in pieces). */
const CHUNK = 500
/** After joining, export everything this long: the others' lists are on their way. */
export const SYNC_GRACE_MS = 2_000
/** Peers remembered; one more puts this node in doubt (every message exported) while it is heard from. */
export const MAX_PEERS = 4_096
/** A filter's estimated cost beyond its characters (its Set and Map entries, its node in the index). */
const ENTRY_BYTES = 160

export interface InterestLimits {
  /** Filters of one peer (default 10,000,000: a large fleet's per-device filters). */
  maxFiltersPerPeer: number
  /** Estimated bytes of every peer's filters together (default 2 GiB). */
  maxBytes: number
}
export const DEFAULT_INTEREST_LIMITS: InterestLimits = {maxFiltersPerPeer: 10_000_000, maxBytes: 2 * 1024 ** 3}

interface Peer {
  raw: Set<string>
  plain: Map<string, number>
  bytes: number
}

interface Announcement {
  id: string
  op: '+' | '-' | '='
  /** Piece i of n of a whole list ('='): the first piece replaces, the others add. */
  part?: number
  filters: string[]
}

export class RemoteInterest {
  readonly #nc: NatsConnection
  readonly #prefix: string
  readonly #id: string
  readonly #index = new SubscriptionIndex({cacheSize: 10_000})
  /** Peer id -> its filters as announced, and how many of them map to each plain filter in the index. */
  readonly #peers = new Map<string, Peer>()
  readonly #lastHeard = new Map<string, number>()
  #trustFrom = Infinity
  readonly #now: () => number
  readonly #graceMs: number
  readonly #limits: InterestLimits
  readonly #logger: Logger | undefined
  /** Estimated bytes of every peer's filters. */
  #bytes = 0
  /** Peers whose list went past the limits: in doubt until their next whole list. */
  readonly #overflowed = new Set<string>()

  constructor(nc: NatsConnection, prefix: string, id: string, now: () => number, graceMs = SYNC_GRACE_MS, limits: InterestLimits = DEFAULT_INTEREST_LIMITS, logger?: Logger) {
    this.#graceMs = graceMs
    this.#limits = limits
    this.#logger = logger
    this.#nc = nc
    this.#prefix = prefix
    this.#id = id
    this.#now = now
  }

  /** Subscribes to announcements and sync requests; `own()` lists this node's filters. */
  start(own: () => Iterable<string>): void {
    this.#nc.subscribe(`${this.#prefix}.n.int`, {callback: (err, m) => err === null && this.#onAnnouncement(m)})
    this.#nc.subscribe(`${this.#prefix}.n.sync`, {callback: (err, m) => err === null && this.#onSync(m, own)})
    this.joined(own)
  }

  /** (Re)joined: tell everyone our whole list, ask for theirs, export everything for a while. */
  joined(own: () => Iterable<string>): void {
    this.#trustFrom = this.#now() + this.#graceMs
    this.#sendList(own())
    this.#nc.publish(`${this.#prefix}.n.sync`, JSON.stringify({id: this.#id}))
  }

  /** Does any other node want `topic`? true while in doubt. */
  wanted(topic: string): boolean {
    if (this.#now() < this.#trustFrom || this.#overflowed.size > 0) return true
    return this.#index.match(topic).clients.length > 0
  }

  added(filter: string): void {
    this.#send({id: this.#id, op: '+', filters: [filter]})
  }

  removed(filter: string): void {
    this.#send({id: this.#id, op: '-', filters: [filter]})
  }

  /** A peer was heard from (its figures): it stays. */
  heard(id: string): void {
    if (this.#peers.has(id)) this.#lastHeard.set(id, this.#now())
  }

  /** Forgets peers silent for longer than `timeoutMs`. */
  expire(timeoutMs: number): void {
    const now = this.#now()
    for (const [id, at] of this.#lastHeard) if (now - at > timeoutMs) this.#forget(id)
  }

  get peerCount(): number {
    return this.#peers.size
  }

  /** Estimated bytes of the other nodes' filters held here, and how many nodes are in doubt for going past the limits. */
  get held(): {bytes: number; overflowed: number} {
    return {bytes: this.#bytes, overflowed: this.#overflowed.size}
  }

  #sendList(filters: Iterable<string>): void {
    const all = [...filters]
    for (let i = 0, part = 0; i < all.length || part === 0; i += CHUNK, part++) {
      this.#send({id: this.#id, op: '=', part, filters: all.slice(i, i + CHUNK)})
    }
  }

  #send(a: Announcement): void {
    try {
      this.#nc.publish(`${this.#prefix}.n.int`, JSON.stringify(a))
    } catch {
      // The link is down: joined() sends the whole list again on the way back.
    }
  }

  #onSync(m: Msg, own: () => Iterable<string>): void {
    let v: {id?: unknown}
    try {
      v = JSON.parse(Buffer.from(m.data).toString()) as {id?: unknown}
    } catch {
      return
    }
    if (v.id !== this.#id) this.#sendList(own())
  }

  #onAnnouncement(m: Msg): void {
    let a: Announcement
    try {
      a = JSON.parse(Buffer.from(m.data).toString()) as Announcement
    } catch {
      return
    }
    if (typeof a?.id !== 'string' || a.id === this.#id || a.id.length > 64 || !Array.isArray(a.filters)) return
    if (a.filters.some((f) => typeof f !== 'string' || f.length === 0 || f.length > 65_535)) return
    let peer = this.#peers.get(a.id)
    if (peer === undefined) {
      if (this.#peers.size >= MAX_PEERS) {
        // One node more than this node keeps: in doubt while it is heard from (at most MAX_PEERS such).
        if (this.#overflowed.has(a.id)) this.#lastHeard.set(a.id, this.#now())
        else if (this.#overflowed.size < MAX_PEERS) {
          this.#overflowed.add(a.id)
          this.#lastHeard.set(a.id, this.#now())
          this.#logger?.warn(`cluster: node ${a.id} is one more than the ${formatInt(MAX_PEERS)} nodes this node keeps: every message is sent through NATS while it is heard from`)
        }
        return
      }
      peer = {raw: new Set(), plain: new Map(), bytes: 0}
      this.#peers.set(a.id, peer)
    }
    this.#lastHeard.set(a.id, this.#now())
    if (a.op === '=' && a.part === 0) this.#clear(a.id, peer)
    // In doubt since it went past the limits: nothing of it is kept until its next whole list.
    if (this.#overflowed.has(a.id)) return
    if (a.op === '-') {
      for (const f of a.filters) {
        if (!peer.raw.delete(f)) continue
        this.#account(peer, -(f.length + ENTRY_BYTES))
        const p = plainFilter(f)
        const n = (peer.plain.get(p) ?? 1) - 1
        if (n > 0) peer.plain.set(p, n)
        else {
          peer.plain.delete(p)
          this.#index.unsubscribe(a.id, p)
        }
      }
      return
    }
    for (const f of a.filters) {
      if (peer.raw.has(f)) continue
      if (peer.raw.size >= this.#limits.maxFiltersPerPeer || this.#bytes + f.length + ENTRY_BYTES > this.#limits.maxBytes) {
        this.#overflow(a.id, peer)
        return
      }
      peer.raw.add(f)
      this.#account(peer, f.length + ENTRY_BYTES)
      const p = plainFilter(f)
      const n = peer.plain.get(p) ?? 0
      if (n === 0) this.#index.subscribe(a.id, p, OPTS)
      peer.plain.set(p, n + 1)
    }
  }

  #account(peer: Peer, bytes: number): void {
    peer.bytes += bytes
    this.#bytes += bytes
  }

  /** Past the limits: the peer's filters go, and it is in doubt (every message exported) until its next whole list fits. */
  #overflow(id: string, peer: Peer): void {
    this.#clear(id, peer)
    this.#overflowed.add(id)
    const {maxFiltersPerPeer, maxBytes} = this.#limits
    this.#logger?.warn(`cluster: node ${id} announced more filters than this node keeps (${formatInt(maxFiltersPerPeer)} per node, ${formatInt(maxBytes)} bytes for all nodes): every message is sent through NATS until its list fits again`)
  }

  #clear(id: string, peer: Peer): void {
    for (const p of peer.plain.keys()) this.#index.unsubscribe(id, p)
    peer.raw.clear()
    peer.plain.clear()
    this.#account(peer, -peer.bytes)
    this.#overflowed.delete(id)
  }

  #forget(id: string): void {
    const peer = this.#peers.get(id)
    if (peer !== undefined) this.#clear(id, peer)
    this.#overflowed.delete(id)
    this.#peers.delete(id)
    this.#lastHeard.delete(id)
  }
}

/** "$share/g/a/#" -> "a/#": any member anywhere makes the topic wanted. */
function plainFilter(f: string): string {
  if (!f.startsWith('$share/')) return f
  const slash = f.indexOf('/', 7)
  return slash === -1 ? f : f.slice(slash + 1)
}
