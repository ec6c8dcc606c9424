/** Types of the subscription index (re-exported by ./index.ts, which is what callers import). */

export interface SubOptions {
  qos: 0 | 1 | 2
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionId?: number
}

/** One client's merged view of all its non-shared subscriptions that match a topic. */
export interface ClientMatch {
  clientId: string
  /** Max granted QoS over this client's matching non-shared subscriptions. */
  qos: 0 | 1 | 2
  /** True when any matching subscription has Retain As Published. */
  retainAsPublished: boolean
  /** Every subscription identifier of the matching subscriptions (MQTT 5 §3.3.4). */
  subscriptionIds: number[]
  /** True when any matching subscription has No Local; then check `subs` against the publisher. */
  anyNoLocal: boolean
  subs: Array<{filter: string; options: SubOptions}>
}

/** One shared-subscription group ($share/<group>/<filter>) that matches a topic. */
export interface SharedMatch {
  group: string
  filter: string
  /** "$share/<group>/<filter>", the subscription's full name. */
  name: string
  members: Array<{clientId: string; options: SubOptions}>
}

/** Read-only for callers: the same object is returned from the match cache. */
export interface MatchResult {
  clients: ClientMatch[]
  shared: SharedMatch[]
}
