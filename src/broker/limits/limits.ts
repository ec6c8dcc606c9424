/**
 * The broker-wide limits in one service the handlers reach through the context (docs/limits.md):
 * the memory ceiling (overload.ts), the per-address connection rate (rate-limit.ts), retained
 * messages by count and bytes, and faults while serving one client (counted, the first of each kind
 * logged with its stack, never more than one line per kind).
 */
import type {BrokerLimits} from '../../config/index.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Message} from '../message.js'
import type {Store} from '../persistence/store.js'
import type {BrokerStats} from '../stats/counters.js'
import {Overload} from './overload.js'
import {ConnectRateLimit} from './rate-limit.js'

/** Distinct fault kinds remembered for "logged once" (past it, faults are counted only). */
const MAX_FAULT_KINDS = 256

/** Bytes a retained message is accounted at: topic and payload. */
const retainedSize = (topic: string, payload: Buffer): number => topic.length + payload.length

export class Limits {
  readonly overload: Overload
  readonly connectRate: ConnectRateLimit
  readonly #limits: BrokerLimits
  readonly #stats: BrokerStats
  readonly #store: Store
  readonly #clock: Clock
  readonly #logger: Logger
  /** Topic + payload bytes of the retained messages not under '$' (what clients can grow), approximate. */
  #retainedBytes = -1
  readonly #faultKinds = new Set<string>()

  constructor(limits: BrokerLimits, deps: {stats: BrokerStats; store: Store; clock: Clock; logger: Logger}) {
    this.#limits = limits
    this.#stats = deps.stats
    this.#store = deps.store
    this.#clock = deps.clock
    this.#logger = deps.logger
    this.overload = new Overload(limits.maxMemory, deps.clock, deps.logger, undefined, (active, episodes) => {
      deps.stats.overloaded = active ? 1 : 0
      deps.stats.overloadEpisodes = episodes
    })
    this.connectRate = new ConnectRateLimit(limits.connectRatePerAddress, deps.clock)
  }

  start(): void {
    this.overload.start()
  }

  stop(): void {
    this.overload.stop()
  }

  /** Memory is past limits.maxMemory (refuse new connections and QoS 1/2 with 0x97). */
  get overloaded(): boolean {
    return this.overload.active
  }

  /**
   * May `msg` (retain set, non-empty payload) be retained? Replacing a retained topic always may if
   * the bytes allow; a new topic needs room under maxRetainedMessages and maxRetainedBytes. The
   * broker's own '$' topics are not counted against the clients' limits. On true the accounting
   * already includes it.
   */
  admitRetained(msg: Message): boolean {
    if (msg.topic.charCodeAt(0) === 0x24) return true
    const old = this.#store.matchRetained(msg.topic, this.#clock.now())[0]
    const size = retainedSize(msg.topic, msg.payload)
    const delta = size - (old === undefined ? 0 : retainedSize(old.topic, old.payload))
    if (old === undefined && this.#clientRetainedCount() >= this.#limits.maxRetainedMessages) return this.#refuse(msg, 'maxRetainedMessages')
    let bytes = this.#bytes()
    if (bytes + delta > this.#limits.maxRetainedBytes) {
      // Expiries and deletions may have left the running total high: count exactly before refusing.
      bytes = this.#recount()
      if (bytes + delta > this.#limits.maxRetainedBytes) return this.#refuse(msg, 'maxRetainedBytes')
    }
    this.#retainedBytes = bytes + delta
    return true
  }

  /** A retained message is deleted (empty payload): its bytes leave the total. */
  retainedDeleted(topic: string): void {
    if (this.#retainedBytes < 0 || topic.charCodeAt(0) === 0x24) return
    const old = this.#store.matchRetained(topic, this.#clock.now())[0]
    if (old !== undefined) this.#retainedBytes -= retainedSize(old.topic, old.payload)
  }

  /** A limit was reached: counted, logged at debug by the caller. */
  reached(): void {
    this.#stats.limitsReached++
  }

  /** A fault while serving one client: counted; the first of its kind is logged with its stack. */
  fault(doing: string, who: string, err: unknown): void {
    this.#stats.internalErrors++
    const e = err as Error | undefined
    const kind = `${doing}|${e?.name ?? typeof err}|${e?.message ?? String(err)}`.slice(0, 300)
    if (this.#faultKinds.has(kind)) return
    if (this.#faultKinds.size < MAX_FAULT_KINDS) this.#faultKinds.add(kind)
    else if (this.#faultKinds.size === MAX_FAULT_KINDS) {
      this.#faultKinds.add('')
      this.#logger.error(`Internal errors of ${MAX_FAULT_KINDS} kinds so far: further ones are only counted (internal-errors)`)
      return
    } else return
    this.#logger.error(`Internal error ${doing} client ${who} (logged once per kind, counted in internal-errors): ${e?.stack ?? err}`)
  }

  #refuse(msg: Message, which: string): boolean {
    this.#stats.limitsReached++
    this.#logger.enabled('debug') && this.#logger.debug(`Retained message on "${msg.topic}" not kept: limits.${which} reached`)
    return false
  }

  /**
   * Retained messages clients can grow: the store's count less the broker's own '$SYS' topics (clients
   * may not publish under '$'). The '$SYS' lookup runs only when the store's count reaches the limit.
   */
  #clientRetainedCount(): number {
    const all = this.#store.retainedCount
    if (all < this.#limits.maxRetainedMessages) return all
    return all - this.#store.matchRetained('$SYS/#', this.#clock.now()).length
  }

  #bytes(): number {
    if (this.#retainedBytes < 0) this.#retainedBytes = this.#recount()
    return this.#retainedBytes
  }

  #recount(): number {
    let total = 0
    for (const r of this.#store.matchRetained('#', this.#clock.now())) total += retainedSize(r.topic, r.payload)
    this.#retainedBytes = total
    return total
  }
}
