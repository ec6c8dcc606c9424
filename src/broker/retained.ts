/**
 * Retained messages (MQTT 5 §3.3.1.3): one per topic name, kept in a trie of topic levels so that a
 * wildcard SUBSCRIBE visits only the branches its filter can reach instead of every stored topic.
 */
import type {BrokerStats} from './stats/counters.js'

export interface RetainedMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  properties?: Record<string, unknown>
  /**
   * The publisher's forwarded MQTT 5 properties as the raw bytes it sent (user property order kept);
   * a store that does not keep it falls back to `properties`.
   */
  raw?: Buffer
  /** Date.now() after which the message is expired (MQTT 5 Message Expiry Interval). */
  expiresAt?: number
}

const DOLLAR = 0x24

/**
 * What changed under retained-delivery walks in progress (handlers/subscribe.ts paces retained
 * delivery over event-loop turns): while any walk runs, every message the index stores gets a
 * sequence number and every message it replaces or deletes is remembered, so a walk can skip a message
 * set after its SUBSCRIBE (the subscriber got it live) or one replaced since it was matched (stale).
 * Nothing is noted while no walk runs.
 */
let watchers = 0
let seq = 0
const bornAt = new WeakMap<RetainedMessage, number>()
const superseded = new WeakSet<RetainedMessage>()

export const retainedChanges = {
  /** A walk starts watching (until unwatch()). */
  watch(): void {
    watchers++
  },
  /** The sequence number messages set from now on are compared with (while watched). */
  get seq(): number {
    return seq
  },
  unwatch(): void {
    if (watchers > 0) watchers--
  },
  /** Is `msg` newer than `since`, or replaced / deleted since it was stored? */
  changedSince(msg: RetainedMessage, since: number): boolean {
    return superseded.has(msg) || (bornAt.get(msg) ?? 0) > since
  },
}

class Node {
  /** Children: none, one node (matched on its `key`), or a Map from two children on. */
  kids: Node | Map<string, Node> | undefined = undefined
  msg: RetainedMessage | undefined = undefined
  constructor(readonly key: string) {}
}

function child(node: Node, key: string): Node | undefined {
  const kids = node.kids
  if (kids === undefined) return undefined
  if (kids instanceof Map) return kids.get(key)
  return kids.key === key ? kids : undefined
}

function forEachChild(node: Node, fn: (n: Node) => void): void {
  const kids = node.kids
  if (kids === undefined) return
  if (kids instanceof Map) for (const k of kids.values()) fn(k)
  else fn(kids)
}

export class RetainedIndex {
  readonly #root = new Node('')
  readonly #stats: BrokerStats | undefined
  #size = 0

  constructor(opts: {stats?: BrokerStats} = {}) {
    this.#stats = opts.stats
    if (this.#stats) this.#stats.retainedMessages = 0
  }

  get size(): number {
    return this.#size
  }

  /**
   * Stores (or replaces) the retained message for msg.topic [MQTT-3.3.1-5]. A zero-length payload
   * removes it instead and is not stored [MQTT-3.3.1-6] [MQTT-3.3.1-7].
   */
  set(msg: RetainedMessage): void {
    if (msg.payload.length === 0) {
      this.delete(msg.topic)
      return
    }
    let node = this.#root
    for (const level of msg.topic.split('/')) {
      let next = child(node, level)
      if (next === undefined) {
        next = new Node(level)
        if (node.kids === undefined) node.kids = next
        else if (node.kids instanceof Map) node.kids.set(level, next)
        else node.kids = new Map([[node.kids.key, node.kids], [level, next]])
      }
      node = next
    }
    if (node.msg === undefined) this.#changeSize(1)
    else if (watchers > 0 && node.msg !== msg) superseded.add(node.msg)
    if (watchers > 0) bornAt.set(msg, ++seq)
    node.msg = msg
  }

  delete(topic: string): boolean {
    const path: Node[] = [this.#root]
    let node: Node | undefined = this.#root
    for (const level of topic.split('/')) {
      node = child(node, level)
      if (node === undefined) return false
      path.push(node)
    }
    if (node.msg === undefined) return false
    if (watchers > 0) superseded.add(node.msg)
    node.msg = undefined
    this.#changeSize(-1)
    // Prune the now-empty branch, deepest first.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]
      if (n.msg !== undefined || n.kids !== undefined) break
      const parent = path[i - 1]
      if (parent.kids === n) parent.kids = undefined
      else if (parent.kids instanceof Map) {
        parent.kids.delete(n.key)
        if (parent.kids.size === 1) parent.kids = parent.kids.values().next().value
      }
    }
    return true
  }

  get(topic: string): RetainedMessage | undefined {
    let node: Node | undefined = this.#root
    for (const level of topic.split('/')) {
      node = child(node, level)
      if (node === undefined) return undefined
    }
    return node.msg
  }

  /**
   * Retained messages whose topic the (valid, non-shared) filter matches [MQTT-3.3.1-9] (shared
   * subscriptions get no retained messages, MQTT 5 §4.8.2: the caller's decision). '+' and '#' at
   * the first level skip topics starting with '$' [MQTT-4.7.2-1]. Expired messages are skipped and
   * dropped when `now` is past their expiresAt (the one expiry check of retained messages); each one
   * dropped is pushed to `expired` when given, so the caller can count it.
   */
  match(filter: string, now = Date.now(), expired?: RetainedMessage[]): RetainedMessage[] {
    const out: RetainedMessage[] = []
    if (this.#size === 0) return out
    walk(this.#root, filter.split('/'), out)
    let live = 0
    for (const msg of out) {
      if (msg.expiresAt !== undefined && msg.expiresAt !== 0 && msg.expiresAt <= now) {
        this.delete(msg.topic)
        expired?.push(msg)
      } else out[live++] = msg
    }
    out.length = live
    return out
  }

  *all(): Iterable<RetainedMessage> {
    const stack: Node[] = [this.#root]
    while (stack.length > 0) {
      const node = stack.pop()!
      if (node.msg !== undefined) yield node.msg
      forEachChild(node, (k) => stack.push(k))
    }
  }

  #changeSize(delta: number): void {
    this.#size += delta
    if (this.#stats) this.#stats.retainedMessages = this.#size
  }
}

/**
 * Collects messages whose topic matches the filter levels. Iterative (an explicit stack of
 * (node, level index) pairs): no recursion per level, so no topic depth can overflow the call stack.
 */
function walk(root: Node, levels: string[], out: RetainedMessage[]): void {
  const nodes: Node[] = [root]
  const at: number[] = [0]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const i = at.pop()!
    const atRoot = i === 0
    if (i === levels.length) {
      if (node.msg !== undefined) out.push(node.msg)
      continue
    }
    const level = levels[i]
    if (level === '#') {
      // The parent level itself ("sport/#" matches "sport"), then everything below.
      if (!atRoot && node.msg !== undefined) out.push(node.msg)
      forEachChild(node, (k) => {
        if (!(atRoot && k.key.charCodeAt(0) === DOLLAR)) all(k, out)
      })
    } else if (level === '+') {
      forEachChild(node, (k) => {
        if (!(atRoot && k.key.charCodeAt(0) === DOLLAR)) {
          nodes.push(k)
          at.push(i + 1)
        }
      })
    } else {
      const next = child(node, level)
      if (next !== undefined) {
        nodes.push(next)
        at.push(i + 1)
      }
    }
  }
}

/** Every message at or below `node` (iterative). */
function all(node: Node, out: RetainedMessage[]): void {
  const stack: Node[] = [node]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.msg !== undefined) out.push(n.msg)
    forEachChild(n, (k) => stack.push(k))
  }
}
