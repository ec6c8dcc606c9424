/**
 * Sessions whose node is down (./directory.ts has the design).
 *
 * takeOverOrphan(): a client connects here, no node answers for it, and the directory names another
 * node (A) as its holder. This node writes itself into the record (only if the record did not change
 * since it was read: fencing), then rebuilds the session: subscriptions and expiry from the record,
 * and its offline queue from the QoS 1/2 copies JetStream still holds for A (./durable.ts: A's copies
 * stay in the work-queue stream until A acknowledges them, so every copy there is one A has not
 * finished). They are read without being consumed (message get by subject), so A, when it comes
 * back, still gets them for its other sessions; each one whose topic the session's subscriptions
 * match becomes a queued delivery, in stream order.
 *
 * fenceRestored(): this node (A) is back. Every persistent session it restored is checked against the
 * directory; one that names another node moved while A was down and is let go here (without its will):
 * A never delivers it again. What A had already stored for it (copies it had acknowledged, messages
 * published on A) is first forwarded through JetStream to the node holding it now, for that session
 * only (./durable.ts FOR_HEADER): it arrives there late, after newer messages. Sessions with no record
 * get this node's record.
 */
import type {JetStreamManager, MsgRequest, NatsConnection} from 'nats'
import type {Logger} from '../log.js'
import type {Delivery} from '../message.js'
import type {SessionRecord} from '../persistence/store.js'
import {SubscriptionIndex} from '../topics/index.js'
import type {SubOptions} from '../topics/types.js'
import type {FoundEntry, SessionDirectory} from './directory.js'
import {FOR_HEADER, durableStreamName} from './durable.js'
import type {ClusterHost} from './host.js'
import type {MovedSession} from './sessions.js'
import {SubjectMap} from './subjects.js'
import {WireError, decodeMessage} from './wire.js'

/** A session let go here: its copies after `upTo` that `holder` did not get itself go to it (./durable.ts handOver). */
export type HandOver = (clientId: string, subscriptions: Array<[string, SubOptions]>, holder: string, upTo: number) => void

/** Restored sessions checked at once when this node comes back. */
const FENCE_BATCH = 64
/** Copies read for one session at most (the CONNECT waits for them). */
export const MAX_ORPHAN_COPIES = 100_000

export interface OrphanDeps {
  readonly logger: Logger
  readonly prefix: string
  /** This node's token. */
  readonly token: string
  readonly directory: SessionDirectory
  readonly jsm: JetStreamManager
  /** The work-queue stream of the copies (./durable.ts durableStreamName). */
  readonly copies: string
  now(): number
  adopt(moved: MovedSession): void
}

/** true: the session was found and taken over (adopted here); false: nothing to take over. */
export async function takeOverOrphan(deps: OrphanDeps, clientId: string): Promise<boolean> {
  const found = await deps.directory.lookup(clientId)
  if (found === undefined || found === 'ended' || found.entry.node === deps.token) return false
  const {entry} = found
  // Copies up to `upTo` are read here; A forwards the later ones it gets when it is back (./durable.ts).
  const upTo = (await deps.jsm.streams.info(deps.copies)).state.last_seq
  const deliveries = await readCopies(deps, entry.node, entry.clientId, entry.subscriptions, upTo)
  if (!(await deps.directory.takeOver(found, upTo))) return false
  deps.adopt({clientId, expiryInterval: entry.expiryInterval, subscriptions: entry.subscriptions, incoming: [], lastPacketId: 0, deliveries})
  deps.logger.info(`cluster: session ${JSON.stringify(clientId)} taken over from node ${entry.node}, which does not answer, with ${deliveries.length} message(s) JetStream held for it`)
  return true
}

async function readCopies(deps: OrphanDeps, from: string, clientId: string, subscriptions: Array<[string, SubOptions]>, upTo: number): Promise<Delivery[]> {
  const index = new SubscriptionIndex({cacheSize: 0})
  for (const [filter, options] of subscriptions) if (!filter.startsWith('$share/')) index.subscribe(clientId, filter, options)
  const map = new SubjectMap({prefix: deps.prefix}, `d.${from}`)
  const out: Delivery[] = []
  const mine = Buffer.from(clientId).toString('base64url')
  let seq = 1
  for (let read = 0; read < MAX_ORPHAN_COPIES; read++) {
    let m
    try {
      m = await deps.jsm.streams.getMessage(deps.copies, {seq, next_by_subj: map.all} as unknown as MsgRequest)
    } catch (error) {
      if (/no message found/i.test((error as Error)?.message ?? '')) break
      throw error
    }
    if (m.seq > upTo) break
    seq = m.seq + 1
    const topic = map.toTopic(m.subject)
    const only = m.header?.get(FOR_HEADER) ?? ''
    if (topic === undefined || (only !== '' && only !== mine)) continue // forwarded for another session
    const match = index.match(topic).clients[0]
    if (match === undefined || match.qos === 0) continue
    try {
      const {msg} = decodeMessage(topic, Buffer.from(m.data), m.header, deps.now())
      if (msg.qos === 0) continue
      msg.owned = true
      const qos = (msg.qos < match.qos ? msg.qos : match.qos) as 1 | 2
      out.push({msg, qos, retain: match.retainAsPublished && msg.retain, subscriptionIds: match.subscriptionIds.length > 0 ? match.subscriptionIds : undefined, packetId: 0, sent: false, released: false})
    } catch (error) {
      if (!(error instanceof WireError)) throw error
    }
  }
  return out
}

/** This node is back: lets go of the restored sessions another node took over meanwhile. */
export async function fenceRestored(
  deps: Pick<OrphanDeps, 'directory' | 'token' | 'logger'>,
  sessions: Iterable<SessionRecord>,
  release: (s: SessionRecord, found?: FoundEntry) => void,
  forward: (clientId: string, deliveries: Delivery[], token: string) => Promise<number>,
): Promise<number> {
  let released = 0
  const all = [...sessions].filter((s) => s.expiryInterval > 0)
  // Looked up FENCE_BATCH at a time (one JetStream request each).
  const records = new Map<SessionRecord, FoundEntry | 'ended' | undefined>()
  for (let i = 0; i < all.length; i += FENCE_BATCH) {
    const batch = all.slice(i, i + FENCE_BATCH)
    const entries = await Promise.all(batch.map((s) => deps.directory.lookup(s.clientId)))
    batch.forEach((s, j) => records.set(s, entries[j]))
  }
  for (const [s, found] of records) {
    if (found === 'ended') {
      // Ended by the node that held it last (a clean start there while this node was down): gone here too.
      release(s)
      released++
      deps.logger.warn(`cluster: session ${JSON.stringify(s.clientId)} ended on another node while this node was down: let go here`)
    } else if (found?.entry.node === deps.token) deps.directory.confirm(found, s)
    else if (found === undefined) {
      if (s.subscriptions.size > 0) deps.directory.write(s.clientId, {expiryInterval: s.expiryInterval, subscriptions: [...s.subscriptions]})
    } else if (found.entry.node !== deps.token) {
      const left: Delivery[] = [...(s.inflight?.values() ?? []), ...(s.queue ?? [])].filter((d) => d.qos > 0)
      let moved = 0
      try {
        if (left.length > 0) moved = await forward(s.clientId, left, found.entry.node)
      } catch (error) {
        deps.logger.error(`cluster: could not forward ${left.length} stored message(s) of session ${JSON.stringify(s.clientId)} to node ${found.entry.node}: ${(error as Error)?.message ?? error}; they are dropped`)
      }
      release(s, found)
      released++
      deps.logger.warn(`cluster: session ${JSON.stringify(s.clientId)} was taken over by node ${found.entry.node} while this node was down: let go here${moved > 0 ? `, its ${moved} stored message(s) forwarded there` : ''}`)
    }
  }
  return released
}

/**
 * The node's part (started with the durable path, ./node.ts): the directory, take-over of orphaned
 * sessions at CONNECT, and the fencing check once it is up.
 */
export class SessionFailover {
  readonly directory: SessionDirectory
  readonly stream: string
  readonly #nc: NatsConnection
  readonly #host: ClusterHost
  readonly #prefix: string
  readonly #token: string
  readonly #unheld: (clientId: string) => void
  readonly #forward: (clientId: string, deliveries: Delivery[], token: string) => Promise<number>
  readonly #handOver: HandOver
  /** Orphaned sessions taken over here / restored sessions let go because another node took them. */
  takenOver = 0
  fenced = 0

  /** `unheld`: this node no longer answers take-over requests for the client (./sessions.ts drop). */
  /** `directory`: the node's, which outlives a failed start (it keeps the changes made meanwhile). */
  constructor(nc: NatsConnection, directory: SessionDirectory, prefix: string, token: string, host: ClusterHost, unheld: (clientId: string) => void, forward: (clientId: string, deliveries: Delivery[], token: string) => Promise<number>, handOver: HandOver) {
    this.#nc = nc
    this.directory = directory
    this.stream = directory.stream
    this.#host = host
    this.#prefix = prefix
    this.#token = token
    this.#unheld = unheld
    this.#forward = forward
    this.#handOver = handOver
  }

  async start(): Promise<void> {
    await this.directory.start(this.#nc)
    await this.recheck()
  }

  /**
   * Checks the sessions held here against the directory (at start, and after the NATS link was lost
   * and came back: another node may have taken one over meanwhile); lets go of the ones another
   * node holds now, closing a connection still open here; then writes the records that changed meanwhile.
   */
  async recheck(): Promise<void> {
    const host = this.#host
    const restored = [...host.held()].map((id) => host.sessions.getSession(id)).filter((s): s is SessionRecord => s !== undefined)
    const release = (s: SessionRecord, found?: FoundEntry): void => {
      // Copies after the boundary the new holder read up to: forwarded to it as they come (./durable.ts).
      if (found !== undefined && found.entry.from === this.#token && found.entry.upTo !== undefined) this.#handOver(s.clientId, [...s.subscriptions], found.entry.node, found.entry.upTo)
      this.directory.forget(s.clientId)
      host.sessions.disconnect(s.clientId)
      host.sessions.release(s)
      this.#unheld(s.clientId)
    }
    try {
      this.fenced += await fenceRestored({directory: this.directory, token: this.#token, logger: host.logger}, restored, release, this.#forward)
    } catch (error) {
      host.logger.warn(`cluster: could not check restored sessions against JetStream: ${(error as Error)?.message ?? error}`)
    }
    // Then what changed while JetStream was not up is written (checked or not: unwritten, it would never be).
    await this.directory.flush()
  }

  stop(): Promise<void> {
    return this.directory.stop()
  }

  /** No node answered for the client: take its session over from a node that is down, if the directory names one. */
  async claim(clientId: string): Promise<void> {
    const jsm = this.directory.manager
    if (jsm === undefined) return
    const host = this.#host
    const deps: OrphanDeps = {logger: host.logger, prefix: this.#prefix, token: this.#token, directory: this.directory, jsm, copies: durableStreamName(this.#prefix), now: () => host.clock.now(), adopt: (m) => host.sessions.adopt(m)}
    if (await takeOverOrphan(deps, clientId)) this.takenOver++
  }
}
