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
  /** Date.now() after which the message is expired (MQTT 5 Message Expiry Interval). */
  expiresAt?: number
}

const DOLLAR = 0x24

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
   * dropped when `now` is past their expiresAt.
   */
  match(filter: string, now = Date.now()): RetainedMessage[] {
    const out: RetainedMessage[] = []
    if (this.#size === 0) return out
    walk(this.#root, filter.split('/'), 0, true, out)
    let live = 0
    for (const msg of out) {
      if (msg.expiresAt !== undefined && msg.expiresAt <= now) this.delete(msg.topic)
      else out[live++] = msg
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

/** Collects messages under `node` whose topic matches filter levels from `i` on. */
function walk(node: Node, levels: string[], i: number, atRoot: boolean, out: RetainedMessage[]): void {
  if (i === levels.length) {
    if (node.msg !== undefined) out.push(node.msg)
    return
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
      if (!(atRoot && k.key.charCodeAt(0) === DOLLAR)) walk(k, levels, i + 1, false, out)
    })
  } else {
    const next = child(node, level)
    if (next !== undefined) walk(next, levels, i + 1, false, out)
  }
}

function all(node: Node, out: RetainedMessage[]): void {
  if (node.msg !== undefined) out.push(node.msg)
  forEachChild(node, (k) => all(k, out))
}
