/**
 * Routing: match a topic once (cached in the SubscriptionIndex), then deliver to every matching client
 * and one member per shared group. A match larger than forwardBatchSize is delivered in batches: the
 * first batch at once, the rest from a setImmediate callback that runs batches for at most
 * SLICE_MS (their socket writes included) before yielding again, so one broadcast to 15,000
 * subscribers never stalls other clients
 * (and a stream of broadcasts is not throttled to one batch per event-loop turn). While batches are
 * pending, later messages on the same topic queue behind them (order is per topic); a small delivery
 * on another topic goes out at once. Past MAX_PENDING queued
 * messages the publishing sockets are paused (TCP backpressure) until the queue is empty.
 */
import {Paused} from './conn-state.js'
import {isDenied} from './handlers/subscribe.js'
import type {Delivery, Message} from './message.js'
import type {Outbound} from './outbound.js'
import type {RouteSource, Router} from './router.js'
import type {BrokerStats} from './stats/counters.js'
import type {Subscriptions} from './subscriptions.js'
import type {ClientMatch, MatchResult, SharedMatch} from './topics/types.js'

export interface FanoutDeps {
  /** Matches above it are delivered in batches of this many (config.forwardBatchSize). */
  readonly batchSize: number
  readonly stats: BrokerStats
  readonly subscriptions: Subscriptions
  readonly outbound: Outbound
  /** Is a client with this id connected now (shared-subscription picks)? */
  isOnline(clientId: string): boolean
  /** Writes every connection's queued bytes now (a deferred batch writes inside its time slice). */
  flush(): void
  /**
   * A delivery to `clientId` threw (a bug, an encoding fault): that client is closed (0x83), the fault
   * counted and logged once; the fan-out goes on with the next subscriber.
   */
  onFault(clientId: string, err: unknown): void
  /** config.denySubscribe: a topic a deny entry covers is delivered to nobody (filters overlapping it included). */
  readonly denySubscribe: readonly string[]
}

interface Job {
  msg: Message
  match: MatchResult
  /** match.shared, or none when the router serves shared groups elsewhere (a cluster). */
  shared: SharedMatch[]
  next: number
}

const NO_SHARED: SharedMatch[] = []

const minQos = (a: number, b: number): 0 | 1 | 2 => (a < b ? a : b) as 0 | 1 | 2

/** Time a deferred run may deliver before yielding to I/O. */
const SLICE_MS = 4
/** Queued broadcasts beyond which publishers are paused. */
const MAX_PENDING = 256

/** The local router: this process's subscribers. */
export class Fanout implements Router {
  readonly #deps: FanoutDeps
  readonly #subs: Subscriptions
  readonly #outbound: Outbound
  #jobs: Job[] = []
  #head = 0
  #scheduled = false
  /** Publishers paused because broadcasts queued up. */
  #paused: RouteSource[] = []
  /** Topics with a queued broadcast, and how many: [MQTT-4.6.0-6] order is per topic. */
  readonly #pendingTopics = new Map<string, number>()
  readonly #run = (): void => this.#runJobs()
  /** Shared-group members connected now (one bound predicate, no closure per delivery). */
  readonly #online: (clientId: string) => boolean

  constructor(deps: FanoutDeps) {
    this.#deps = deps
    this.#subs = deps.subscriptions
    this.#outbound = deps.outbound
    this.#online = (clientId) => deps.isOnline(clientId)
  }

  get pending(): number {
    return this.#jobs.length - this.#head
  }

  /**
   * Delivers `msg`; `source` is the publishing connection, paused while broadcasts back up.
   * `noShared`: shared groups are not served here (a cluster router hands them to NATS queue groups).
   */
  route(msg: Message, source?: RouteSource, noShared = false): void {
    const deny = this.#deps.denySubscribe
    if (deny.length > 0 && isDenied(deny, msg.topic)) {
      this.#deps.stats.messagesNoSubscriber++
      return
    }
    const match = this.#subs.match(msg.topic)
    const n = match.clients.length
    const shared = noShared ? NO_SHARED : match.shared
    if (n === 0 && shared.length === 0) {
      this.#deps.stats.messagesNoSubscriber++
      return
    }
    // A small delivery goes out now unless a queued broadcast has its topic: order is kept per topic
    // [MQTT-4.6.0-6], and an unrelated client does not wait for someone else's broadcast.
    if (n <= this.#deps.batchSize && (this.pending === 0 || !this.#pendingTopics.has(msg.topic))) {
      for (let i = 0; i < n; i++) this.#deliverClient(msg, match.clients[i])
      for (let i = 0; i < shared.length; i++) this.#deliverShared(msg, shared[i])
      return
    }
    this.#jobs.push({msg, match, shared, next: 0})
    this.#pendingTopics.set(msg.topic, (this.#pendingTopics.get(msg.topic) ?? 0) + 1)
    if (!this.#scheduled) this.#runJobs(true)
    if (source !== undefined && this.pending > MAX_PENDING && (source.paused & Paused.Fanout) === 0) {
      source.pauseReading(Paused.Fanout)
      this.#paused.push(source)
    }
  }

  /** A shared-subscription delivery whose member left: another online member gets it. */
  redeliverShared(d: Delivery, leaving: string): boolean {
    if (d.shared === undefined) return false
    const group = this.#subs.sharedGroup(d.shared)
    if (group === undefined) return false
    const pick = this.#subs.pickShared(group, (id) => id !== leaving && this.#deps.isOnline(id))
    if (pick === undefined) return false
    const o = pick.options
    const ids = o.subscriptionId === undefined ? undefined : [o.subscriptionId]
    this.#outbound.deliver(pick.clientId, d.msg, minQos(d.msg.qos, o.qos), o.retainAsPublished && d.msg.retain, ids, d.shared)
    return true
  }

  /** One batch when called from route() (`first`), else batches until the queue is empty or SLICE_MS passed. */
  #runJobs(first = false): void {
    this.#scheduled = false
    const batch = this.#deps.batchSize
    const start = first ? 0 : performance.now()
    do {
      let budget = batch
      while (this.#head < this.#jobs.length && budget > 0) {
        const job = this.#jobs[this.#head]
        const clients = job.match.clients
        const end = Math.min(clients.length, job.next + budget)
        for (let i = job.next; i < end; i++) this.#deliverClient(job.msg, clients[i])
        budget -= end - job.next
        job.next = end
        if (end < clients.length) break
        for (let i = 0; i < job.shared.length; i++) this.#deliverShared(job.msg, job.shared[i])
        budget -= job.shared.length
        this.#jobDone(job.msg.topic)
        this.#jobs[this.#head++] = undefined as never
      }
      // Write this batch now, inside the slice: socket writes are most of a broadcast's cost, and
      // leaving them to the once-per-turn flush would write a whole slice's subscribers (15,000
      // sockets, ~150 ms) in one go and stall every other client for the broadcast's duration.
      if (!first) this.#flush()
    } while (!first && this.#head < this.#jobs.length && performance.now() - start < SLICE_MS)
    if (this.#head === this.#jobs.length) {
      this.#jobs = []
      this.#head = 0
      this.#resumePublishers()
    } else {
      if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
        this.#jobs = this.#jobs.slice(this.#head)
        this.#head = 0
      }
      this.#scheduled = true
      setImmediate(this.#run)
    }
  }

  /** The deferred batches' flush: a fault in it must not leave the job queue unscheduled. */
  #flush(): void {
    try {
      this.#deps.flush()
    } catch (err) {
      this.#deps.onFault('(flush)', err)
    }
  }

  #jobDone(topic: string): void {
    const left = (this.#pendingTopics.get(topic) ?? 1) - 1
    if (left === 0) this.#pendingTopics.delete(topic)
    else this.#pendingTopics.set(topic, left)
  }

  #resumePublishers(): void {
    if (this.#paused.length === 0) return
    const paused = this.#paused
    this.#paused = []
    for (const conn of paused) conn.resumeReading(Paused.Fanout)
  }

  /**
   * One subscriber's copy. Whatever it throws is that subscriber's fault alone: the client is closed,
   * the fan-out (and the job at the head of the queue) goes on [issue 11].
   */
  #deliverClient(msg: Message, c: ClientMatch): void {
    try {
      this.#deliverClientUnsafe(msg, c)
    } catch (err) {
      this.#deps.onFault(c.clientId, err)
    }
  }

  #deliverShared(msg: Message, group: SharedMatch): void {
    try {
      this.#deliverSharedUnsafe(msg, group)
    } catch (err) {
      this.#deps.onFault(group.name, err)
    }
  }

  #deliverClientUnsafe(msg: Message, c: ClientMatch): void {
    let qos = c.qos
    let rap = c.retainAsPublished
    let ids = c.subscriptionIds
    if (c.anyNoLocal && msg.from === c.clientId) {
      // [MQTT-3.8.3-3] no local: only this client's subscriptions without it count.
      let any = false
      qos = 0
      rap = false
      ids = []
      for (const s of c.subs) {
        if (s.options.noLocal) continue
        any = true
        if (s.options.qos > qos) qos = s.options.qos
        rap ||= s.options.retainAsPublished
        if (s.options.subscriptionId !== undefined) ids.push(s.options.subscriptionId)
      }
      if (!any) return
    }
    // RETAIN on a forwarded message: 3.1.1 clears it ([MQTT-3.3.1-9] in 3.1.1's numbering); MQTT 5 clears it
    // unless the subscription has Retain As Published [MQTT-3.3.1-12] [MQTT-3.3.1-13].
    this.#outbound.deliver(c.clientId, msg, minQos(msg.qos, qos), rap && msg.retain, ids.length > 0 ? ids : undefined)
  }

  #deliverSharedUnsafe(msg: Message, group: SharedMatch): void {
    const pick = this.#subs.pickShared(group, this.#online) ?? this.#subs.pickShared(group)
    if (pick === undefined) return
    const o = pick.options
    const ids = o.subscriptionId === undefined ? undefined : [o.subscriptionId]
    this.#outbound.deliver(pick.clientId, msg, minQos(msg.qos, o.qos), o.retainAsPublished && msg.retain, ids, group.name)
  }
}
