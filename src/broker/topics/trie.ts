/**
 * The subscription trie: one node per topic-filter level. As in nats-server's sublist
 * (`level {nodes; pwc, fwc}`), the '+' and '#' children are fields, never map lookups. Nodes are
 * small: literal children are one inline node until a second one arrives (then a Map), and
 * subscriptions at a node are one inline (clientId, options) pair until a second one arrives.
 */
import type {SharedGroup} from './shared.js'
import type {MatchResult, SubOptions} from './types.js'

const DOLLAR = 0x24

export class TrieNode {
  /** Literal children: none, one node (matched on its `key`), or a Map from two children on. */
  kids: TrieNode | Map<string, TrieNode> | undefined = undefined
  /** The '+' child. */
  plus: TrieNode | undefined = undefined
  /** The '#' child (always a leaf: '#' is the last level of a filter). */
  hash: TrieNode | undefined = undefined
  /** The only non-shared subscriber while there is one (then `subs` is undefined). */
  oneClient: string | undefined = undefined
  oneOptions: SubOptions | undefined = undefined
  /** Non-shared subscribers once there are two or more. */
  subs: Map<string, SubOptions> | undefined = undefined
  /** Shared-subscription groups on this filter, by share name. */
  shared: Map<string, SharedGroup> | undefined = undefined
  /** The filter string this node stands for (the subscriber's own string: no copy). */
  filter: string | undefined = undefined
  /**
   * The match result of a topic whose only matching filter is this node, built on first use and
   * dropped when this node's subscribers change (SubscriptionIndex). Lets a cache miss on the common
   * "one literal filter" topic allocate nothing.
   */
  memo: MatchResult | undefined = undefined

  constructor(readonly key: string) {}

  get hasSubs(): boolean {
    return this.oneClient !== undefined || this.subs !== undefined
  }

  get isEmpty(): boolean {
    return (
      this.kids === undefined &&
      this.plus === undefined &&
      this.hash === undefined &&
      this.oneClient === undefined &&
      this.subs === undefined &&
      this.shared === undefined
    )
  }

  /** Adds or replaces this client's subscription here; true when it is new. */
  setSub(clientId: string, options: SubOptions): boolean {
    if (this.subs !== undefined) {
      const isNew = !this.subs.has(clientId)
      this.subs.set(clientId, options)
      return isNew
    }
    if (this.oneClient === undefined || this.oneClient === clientId) {
      const isNew = this.oneClient === undefined
      this.oneClient = clientId
      this.oneOptions = options
      return isNew
    }
    this.subs = new Map([
      [this.oneClient, this.oneOptions!],
      [clientId, options],
    ])
    this.oneClient = undefined
    this.oneOptions = undefined
    return true
  }

  deleteSub(clientId: string): boolean {
    if (this.subs !== undefined) {
      if (!this.subs.delete(clientId)) return false
      if (this.subs.size === 1) {
        const [[id, options]] = this.subs
        this.oneClient = id
        this.oneOptions = options
        this.subs = undefined
      }
      return true
    }
    if (this.oneClient !== clientId) return false
    this.oneClient = undefined
    this.oneOptions = undefined
    return true
  }
}

function child(node: TrieNode, key: string): TrieNode | undefined {
  if (key === '+') return node.plus
  if (key === '#') return node.hash
  const kids = node.kids
  if (kids === undefined) return undefined
  if (kids instanceof Map) return kids.get(key)
  return kids.key === key ? kids : undefined
}

/** The literal child for the topic level topic[start, end) (topic names never hold '+' or '#'). */
function literalAt(node: TrieNode, topic: string, start: number, end: number): TrieNode | undefined {
  const kids = node.kids
  if (kids === undefined) return undefined
  if (kids instanceof Map) return kids.get(start === 0 && end === topic.length ? topic : topic.slice(start, end))
  const key = kids.key
  return key.length === end - start && topic.startsWith(key, start) ? kids : undefined
}

function addChild(node: TrieNode, key: string): TrieNode {
  const created = new TrieNode(key)
  if (key === '+') node.plus = created
  else if (key === '#') node.hash = created
  else if (node.kids === undefined) node.kids = created
  else if (node.kids instanceof Map) node.kids.set(key, created)
  else node.kids = new Map([
    [node.kids.key, node.kids],
    [key, created],
  ])
  return created
}

function removeChild(node: TrieNode, target: TrieNode): void {
  if (node.plus === target) node.plus = undefined
  else if (node.hash === target) node.hash = undefined
  else if (node.kids === target) node.kids = undefined
  else if (node.kids instanceof Map) {
    node.kids.delete(target.key)
    if (node.kids.size === 1) node.kids = node.kids.values().next().value
  }
}

/** The node for the filter levels, created on the way. */
export function insert(root: TrieNode, levels: readonly string[]): TrieNode {
  let node = root
  for (const level of levels) node = child(node, level) ?? addChild(node, level)
  return node
}

/** The node for the filter levels, if present. */
export function find(root: TrieNode, levels: readonly string[]): TrieNode | undefined {
  let node: TrieNode | undefined = root
  for (let i = 0; i < levels.length && node !== undefined; i++) node = child(node, levels[i])
  return node
}

/** Removes the now-empty nodes along the path of `levels`, deepest first. */
export function prune(root: TrieNode, levels: readonly string[]): void {
  const path: TrieNode[] = [root]
  let node: TrieNode | undefined = root
  for (const level of levels) {
    node = child(node, level)
    if (node === undefined) return
    path.push(node)
  }
  for (let i = path.length - 1; i > 0 && path[i].isEmpty; i--) removeChild(path[i - 1], path[i])
}

/** Scratch stacks of collect() (synchronous, so one pair serves every call; stale slots are harmless). */
const stackNodes: TrieNode[] = []
const stackStarts: number[] = []

/**
 * Writes every node whose filter matches `topic` and that holds subscriptions (shared or not) into
 * `out` from index 0 and returns how many (`out` is a reused scratch array: no push, no truncation,
 * both of which cost a runtime call). Each filter node is reached at most once: no duplicates. The
 * topic is walked in place (no split): a level is sliced out only for a lookup in a Map of two or
 * more children. [MQTT-4.7.2-1] '+' and '#' at the first level do not match a topic starting with '$'.
 * Iterative (an explicit stack, depth-first in the order '#', '+', literal): no recursion per level,
 * so no topic, however deep, can overflow the call stack.
 */
export function collect(root: TrieNode, topic: string, out: TrieNode[]): number {
  let top: number
  if (topic.charCodeAt(0) === DOLLAR) {
    let end = topic.indexOf('/')
    if (end === -1) end = topic.length
    const first = literalAt(root, topic, 0, end)
    if (first === undefined) return 0
    stackNodes[0] = first
    stackStarts[0] = end + 1
  } else {
    stackNodes[0] = root
    stackStarts[0] = 0
  }
  top = 1
  let n = 0
  const length = topic.length
  while (top > 0) {
    top--
    const node = stackNodes[top]
    const start = stackStarts[top]
    // '#' matches the rest, including no level at all: "sport/#" matches "sport" [MQTT-4.7.1-2].
    const hash = node.hash
    if (hash !== undefined) out[n++] = hash
    if (start > length) {
      if (node.oneClient !== undefined || node.subs !== undefined || node.shared !== undefined) out[n++] = node
      continue
    }
    let end = topic.indexOf('/', start)
    if (end === -1) end = length
    // Pushed literal first so that '+' is walked first (the order the recursive walk had).
    const next = literalAt(node, topic, start, end)
    if (next !== undefined) {
      stackNodes[top] = next
      stackStarts[top++] = end + 1
    }
    const plus = node.plus
    if (plus !== undefined) {
      stackNodes[top] = plus
      stackStarts[top++] = end + 1
    }
  }
  return n
}

/** Counts nodes (for tests and the memory benchmark). */
export function countNodes(root: TrieNode): number {
  let n = 0
  const stack: TrieNode[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    n++
    if (node.plus) stack.push(node.plus)
    if (node.hash) stack.push(node.hash)
    if (node.kids instanceof Map) for (const k of node.kids.values()) stack.push(k)
    else if (node.kids) stack.push(node.kids)
  }
  return n
}
