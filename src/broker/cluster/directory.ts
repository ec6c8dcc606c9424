/**
 * Where each persistent session lives, kept in JetStream so that it outlives the node holding it:
 * one record per client id in the stream MQTT_SESSIONS_<prefix> (subject
 * "<prefix>.n.ss.<sha256(client id), base64url>", last message per subject): the holding node's
 * token, the session expiry and its subscriptions; an empty record once the session ended or left
 * the node. The holder writes it whenever the session's subscriptions change; changes made while
 * JetStream is not up (the node starting, NATS away) are kept and written once the node has checked
 * its sessions against the directory (./orphans.ts SessionFailover.start: flush()).
 *
 * What it is for (./orphans.ts): a client connecting to node B while the node holding its session
 * (A) is DOWN. Nobody answers B's take-over request; B reads the record, takes the session over by
 * writing its own record only if the record is still the one it read (JetStream's expected last
 * subject sequence: two nodes cannot both win), and rebuilds it from the record and the copies
 * JetStream still holds for A. When A comes back it reads the records of the sessions it restored:
 * one naming another node means the session moved while A was down, and A lets it go (fencing).
 * Records from the network are checked like any input; a bad one is ignored.
 */
import {createHash} from 'node:crypto'
import {DiscardPolicy, type JetStreamClient, type JetStreamManager, type NatsConnection, StorageType} from 'nats'
import type {Logger} from '../log.js'
import type {SessionRecord} from '../persistence/store.js'
import {validateTopicFilter} from '../protocol/topics.js'
import type {SubOptions} from '../topics/types.js'
import {ensureStream} from './link.js'
import {isSubOptions} from './sessions.js'

const MAX_SUBSCRIPTIONS = 10_000
/** Sessions ended while JetStream was not up (or whose end did not land) whose record is ended later (beyond: a warning). */
const MAX_ENDED_EARLY = 100_000
const TOKEN = /^[A-Za-z0-9_-]{1,48}$/

export function sessionStreamName(prefix = 'mqtt'): string {
  return `MQTT_SESSIONS_${prefix.replaceAll('.', '_')}`
}

/** The subject of a client's record. */
export function sessionSubject(prefix: string, clientId: string): string {
  return `${prefix}.n.ss.${createHash('sha256').update(clientId).digest('base64url')}`
}

export interface SessionEntry {
  clientId: string
  /** Token of the node holding the session. */
  node: string
  expiryInterval: number
  subscriptions: Array<[string, SubOptions]>
  /** Set by a take-over from a node that was down: that node, and the last stream sequence of its copies read then (./orphans.ts). */
  from?: string
  upTo?: number
}

/** A record as read: the entry and its stream sequence (the fencing token). */
export interface FoundEntry {
  entry: SessionEntry
  seq: number
}

/** A record's payload, checked (undefined: not a valid entry for `clientId`). */
export function parseEntry(clientId: string, data: Uint8Array): SessionEntry | undefined {
  let e: SessionEntry
  try {
    e = JSON.parse(Buffer.from(data).toString()) as SessionEntry
  } catch {
    return undefined
  }
  const ok =
    e !== null && typeof e === 'object' && e.clientId === clientId && typeof e.node === 'string' && TOKEN.test(e.node) &&
    Number.isInteger(e.expiryInterval) && e.expiryInterval > 0 && e.expiryInterval <= 4_294_967_295 &&
    Array.isArray(e.subscriptions) && e.subscriptions.length <= MAX_SUBSCRIPTIONS &&
    e.subscriptions.every((s) => Array.isArray(s) && typeof s[0] === 'string' && validateTopicFilter(s[0]) === undefined && isSubOptions(s[1])) &&
    (e.from === undefined || (typeof e.from === 'string' && TOKEN.test(e.from) && Number.isSafeInteger(e.upTo) && (e.upTo as number) >= 0))
  if (!ok) return undefined
  const entry: SessionEntry = {clientId, node: e.node, expiryInterval: e.expiryInterval, subscriptions: e.subscriptions.map(([f, o]) => [f, o])}
  if (e.from !== undefined) Object.assign(entry, {from: e.from, upTo: e.upTo})
  return entry
}

export class SessionDirectory {
  readonly stream: string
  readonly #prefix: string
  readonly #token: string
  readonly #replicas: number
  readonly #logger: Logger
  #js: JetStreamClient | undefined
  #jsm: JetStreamManager | undefined
  #errors = 0
  /** Client ids whose record names this node (it wrote or confirmed it). */
  readonly #mine = new Set<string>()
  /** Hand-over boundaries of sessions taken over here, kept in later records until the session leaves. */
  readonly #handovers = new Map<string, {from: string; upTo: number}>()
  /** Records to write at the end of this event-loop turn (several changes of one SUBSCRIBE: one write). */
  readonly #pending = new Map<string, SessionRecord>()
  /** Sessions that ended while JetStream was not up: their record goes once it is, if it names this node. */
  readonly #endedEarly = new Set<string>()
  #flushing = false
  /** The sessions restored here were checked against the directory since start() (flush() was called). */
  #checked = false

  /** One per node, for the node's life: it keeps changes while JetStream is not up (start() / stop()). */
  constructor(prefix: string, token: string, replicas: number, logger: Logger) {
    this.#prefix = prefix
    this.#token = token
    this.#replicas = replicas
    this.#logger = logger
    this.stream = sessionStreamName(prefix)
  }

  subject(clientId: string): string {
    return sessionSubject(this.#prefix, clientId)
  }

  get started(): boolean {
    return this.#js !== undefined
  }

  /** Ensures the stream; records are written from now on (what changed before: flush()). */
  async start(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager()
    await ensureStream(jsm, {name: this.stream, subjects: [`${this.#prefix}.n.ss.>`], max_msgs_per_subject: 1, storage: StorageType.File, discard: DiscardPolicy.Old, num_replicas: this.#replicas})
    this.#jsm = jsm
    this.#js = nc.jetstream()
    this.#checked = false
  }

  /**
   * Writes what changed while JetStream was not up (called once the restored sessions were checked:
   * a session let go meanwhile was forgotten, so nothing of it is written over its new holder's record).
   */
  async flush(): Promise<void> {
    if (!this.started) return
    this.#checked = true
    const pending = [...this.#pending]
    this.#pending.clear()
    for (const [id, s] of pending) this.write(id, {expiryInterval: s.expiryInterval, subscriptions: [...s.subscriptions]})
    const ended = [...this.#endedEarly]
    this.#endedEarly.clear()
    for (const id of ended) {
      try {
        const found = await this.lookup(id)
        // Only this node's record ends: another node may have taken the client over meanwhile.
        if (found !== undefined && found !== 'ended' && found.entry.node === this.#token) await this.#end(id, found.seq)
      } catch (error) {
        this.#failed(error) // never thrown: flush() also runs from a timer
      }
    }
  }

  async stop(): Promise<void> {
    this.#js = undefined
    this.#jsm = undefined
    this.#checked = false
  }

  /**
   * The client's record; 'ended': its last holder ended the session (an empty record); undefined: no
   * record (never written, or invalid), or JetStream is not up.
   */
  async lookup(clientId: string): Promise<FoundEntry | 'ended' | undefined> {
    const jsm = this.#jsm
    if (jsm === undefined) return undefined
    try {
      const m = await jsm.streams.getMessage(this.stream, {last_by_subj: this.subject(clientId)})
      if (m.data.length === 0) return 'ended'
      const entry = parseEntry(clientId, m.data)
      return entry === undefined ? undefined : {entry, seq: m.seq}
    } catch (error) {
      if (/no message found/i.test((error as Error)?.message ?? '')) return undefined
      throw error
    }
  }

  /**
   * The session's subscriptions changed here (./durable-subs.ts). A persistent session's record is
   * (re)written at the end of the turn; `ended`: the session ended, its record goes, but only if the
   * record is this node's (a session let go because another node took it over keeps that node's).
   */
  changed(session: SessionRecord, ended: boolean): void {
    const id = session.clientId
    if (ended || session.expiryInterval === 0) {
      this.#pending.delete(id)
      this.#handovers.delete(id)
      const mine = this.#mine.delete(id)
      if (this.#checked) {
        if (mine) this.write(id, undefined)
      } else if (this.#endedEarly.size < MAX_ENDED_EARLY) this.#endedEarly.add(id)
      else this.#failed(new Error(`more than ${MAX_ENDED_EARLY} sessions ended while JetStream was not up`))
      return
    }
    this.#endedEarly.delete(id)
    this.#mine.add(id)
    this.#pending.set(id, session)
    if (this.#flushing || !this.#checked) return
    this.#flushing = true
    setImmediate(() => {
      this.#flushing = false
      if (this.#checked) void this.flush()
    })
  }

  /**
   * Checked at start against the session restored here (./orphans.ts fenceRestored): the record names
   * this node; rewritten when it differs (a change made while JetStream was not up).
   */
  confirm(found: FoundEntry, session: SessionRecord): void {
    const id = session.clientId
    this.#mine.add(id)
    const subscriptions = [...session.subscriptions]
    if (found.entry.expiryInterval !== session.expiryInterval || JSON.stringify(found.entry.subscriptions) !== JSON.stringify(subscriptions)) {
      this.write(id, {expiryInterval: session.expiryInterval, subscriptions})
    }
  }

  /** JetStream's management API once started (./orphans.ts reads copies through it). */
  get manager(): JetStreamManager | undefined {
    return this.#jsm
  }

  /** The session leaves this node for another that writes its own record: no "gone" record from here. */
  forget(clientId: string): void {
    this.#handovers.delete(clientId)
    this.#mine.delete(clientId)
    this.#pending.delete(clientId)
    this.#endedEarly.delete(clientId)
  }

  /** This node holds the session now (written as it is; undefined: it ended or left). */
  write(clientId: string, entry: Omit<SessionEntry, 'clientId' | 'node'> | undefined): void {
    const js = this.#js
    if (js === undefined) return
    if (entry !== undefined) this.#mine.add(clientId)
    const body = entry === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify({clientId, node: this.#token, ...entry, ...this.#handovers.get(clientId)}))
    js.publish(this.subject(clientId), body).catch((error: unknown) => {
      // An end that did not land (NATS away): tried again at the next flush (the recheck when the link is back).
      if (entry === undefined && !this.#mine.has(clientId) && this.#endedEarly.size < MAX_ENDED_EARLY) this.#endedEarly.add(clientId)
      this.#failed(error)
    })
  }

  /**
   * Takes the session over from a node that is down: writes this node's record only if the record
   * is still the one read (sequence `seq`). false: another node wrote first (it came back, or
   * another node took the client over meanwhile).
   */
  async takeOver(found: FoundEntry, upTo: number): Promise<boolean> {
    const js = this.#js
    if (js === undefined) return false
    const handover = {from: found.entry.node, upTo}
    const body = Buffer.from(JSON.stringify({...found.entry, node: this.#token, ...handover}))
    try {
      await js.publish(this.subject(found.entry.clientId), body, {expect: {lastSubjectSequence: found.seq}, timeout: 5000})
      this.#mine.add(found.entry.clientId)
      if (this.#handovers.size < 100_000) this.#handovers.set(found.entry.clientId, handover)
      return true
    } catch (error) {
      if (/wrong last sequence/i.test((error as Error)?.message ?? '')) return false
      throw error
    }
  }

  /** An empty record, only over the one read (sequence `seq`). */
  async #end(clientId: string, seq: number): Promise<void> {
    try {
      await this.#js?.publish(this.subject(clientId), Buffer.alloc(0), {expect: {lastSubjectSequence: seq}})
    } catch (error) {
      if (!/wrong last sequence/i.test((error as Error)?.message ?? '')) this.#failed(error)
    }
  }

  #failed(error: unknown): void {
    if (this.#errors++ === 0) this.#logger.warn(`cluster: could not record a session's node in JetStream: ${(error as Error)?.message ?? error}; a client reconnecting elsewhere while this node is down may not find it`)
  }
}
