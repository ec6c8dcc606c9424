/**
 * The durable Store: the same in-memory records as the memory store, plus an append-only journal on
 * disk under <dataDir>/store/ that every change of a persistent session (session expiry > 0) or a
 * retained message is written to, and from which the state is loaded at start.
 *
 * Writes: each change is encoded synchronously into one buffer and counted (writeSeq); a single
 * writer ("pump") writes everything appended meanwhile with one positional writev and one
 * fdatasync, then tells every whenDurable() waiter up to that count (group commit: the cost of an
 * fsync is per batch, not per message). sync "interval" skips the per-batch fdatasync: a waiter is
 * told once the bytes are in the kernel (they survive `kill -9`), and an fdatasync runs at least every
 * syncIntervalMs (the window a power cut or a kernel crash can lose).
 *
 * Compaction: when the journal has grown by compactBytes, a new journal file starts and a snapshot
 * of the state is written beside it, a chunk at a time between other work (no full-state stall and
 * no copy of the state); then the older files go. Every record is an absolute change of one key, so
 * journal-after-rotation replayed over a snapshot that caught each key at some moment after the
 * rotation gives the exact state (codec.ts).
 *
 * Disk full or unwritable: the waiters of what could not be written are told the error, `degraded`
 * turns true (the broker refuses new QoS 1/2 work that needs the disk), one log line per episode;
 * every retryMs it tries again by writing a fresh snapshot of the memory state (the truth) into a
 * new generation; once that is on disk it is not degraded any more.
 *
 * Files: store/journal-<gen>.log, store/snapshot-<gen>.bin (the base of journals >= gen), and
 * <dataDir>/subscriptions.json (a readable view written atomically, see subscriptions-file.ts).
 */
import {mkdirSync, readdirSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {type Clock, systemClock} from '../clock.js'
import {type Logger, silentLogger} from '../log.js'
import {type Delivery, type Message, messageBytes, ownMessage} from '../message.js'
import {type RetainedMessage, RetainedIndex} from '../retained.js'
import type {SubOptions} from '../topics/types.js'
import {internOptions} from '../topics/options.js'
import {
  NewerFormatError,
  type Rec,
  RecordWriter,
  T,
  writeDequeue,
  writeHeader,
  writeId,
  writeInflight,
  writeKey,
  writeMsg,
  writeQueue,
  writeRetain,
  writeRetainDel,
  writeSession,
  writeSnapEnd,
  writeSub,
  writeUnsub,
} from './codec.js'
import {fsyncDir, moveAside, nodeFs, scanFile, type StoreFs, stampOf, writeAll} from './files.js'
import type {SessionRecord, Store} from './store.js'
import {readSubscriptionsFile, SubscriptionsFile} from './subscriptions-file.js'
import type {StoreFigures, SyncMode} from './figures.js'

export type {StoreFigures, SyncMode} from './figures.js'

export interface DurableStoreOptions {
  /** The data directory: the store lives in <dir>/store, the readable view in <dir>/subscriptions.json. */
  dir: string
  sync?: SyncMode
  /** sync "interval": the longest time written changes wait for an fdatasync, ms. */
  syncIntervalMs?: number
  /** Journal bytes since the last snapshot that start a compaction. */
  compactBytes?: number
  /** Longest time a subscription change waits to appear in subscriptions.json, ms. */
  subscriptionsIntervalMs?: number
  /** While degraded: how often the store tries to write again, ms. */
  retryMs?: number
  logger?: Logger
  fs?: StoreFs
  /** Time and the store's timers (sync interval, subscriptions.json, retry); tests pass a ManualClock. */
  clock?: Clock
}


interface JournalFile {
  path: string
  gen: number
  fd: number
  size: number
}

interface MsgRef {
  id: number
  /** Generation of the journal its body was last written to (-1: none yet). */
  gen: number
}

interface Waiter {
  seq: number
  cb: (err?: Error) => void
}

const JOURNAL = /^journal-(\d{1,15})\.log$/
const SNAPSHOT = /^snapshot-(\d{1,15})\.bin$/
const SNAPSHOT_TMP = /^snapshot-(\d{1,15})\.bin\.tmp$/
const LAT_SAMPLES = 1024
const CHUNK_BYTES = 1024 * 1024

export class DurableStore implements Store {
  readonly #sessions = new Map<string, SessionRecord>()
  readonly #retained = new RetainedIndex()
  /** Sessions whose records are on disk. */
  readonly #onDisk = new WeakSet<SessionRecord>()
  #persistent = 0
  readonly #msgs = new WeakMap<Message, MsgRef>()
  #nextId = 1

  readonly #dir: string
  readonly #storeDir: string
  readonly #sync: SyncMode
  readonly #syncIntervalMs: number
  readonly #compactBytes: number
  readonly #retryMs: number
  readonly #log: Logger
  readonly #fs: StoreFs
  readonly #timers: Clock
  readonly #subsFile: SubscriptionsFile

  #w = new RecordWriter()
  #seq = 0
  /** Every change up to this count is durable. */
  #durable = 0
  /** Every change up to this count is in the journal (durable unless a recovery snapshot is pending). */
  #written = 0
  #waiters: Waiter[] = []
  #waitHead = 0

  #file: JournalFile | undefined
  #gen = 0
  /** Journal bytes written since the current snapshot base (compaction trigger). */
  #sinceSnapshot = 0
  /** Sizes of the store files that exist (for bytesOnDisk). */
  readonly #fileSizes = new Map<string, number>()

  #pumping = false
  #kickScheduled = false
  #rotate: 'no' | 'compact' | 'recover' = 'no'
  #snapshotting: Promise<void> | undefined
  #compactBackoffUntil = 0
  /** Changes above this count wait for the snapshot that is being written (recovery). */
  #barrier = Infinity
  #lastSync = 0
  #unsynced = false
  #syncTimer: unknown
  #retryTimer: unknown

  #degraded = false
  /** Failed writes since start (a recovery counts only if none happened while its snapshot was written). */
  #failures = 0
  /** A recovery snapshot is being written: the new journal is written, its waiters held. */
  #recovering = false
  #episodes = 0
  #degradedAt = 0
  #opened = false
  #closed = false

  #fsyncs = 0
  #batches = 0
  #compactions = 0
  readonly #lat = new Float64Array(LAT_SAMPLES)
  #latN = 0

  constructor(options: DurableStoreOptions) {
    this.#dir = options.dir
    this.#storeDir = join(options.dir, 'store')
    this.#sync = options.sync ?? 'always'
    this.#syncIntervalMs = options.syncIntervalMs ?? 1000
    this.#compactBytes = options.compactBytes ?? 64 * 1024 * 1024
    this.#retryMs = options.retryMs ?? 1000
    this.#log = options.logger ?? silentLogger
    this.#fs = options.fs ?? nodeFs
    this.#timers = options.clock ?? systemClock
    this.#subsFile = new SubscriptionsFile({
      path: join(options.dir, 'subscriptions.json'),
      intervalMs: options.subscriptionsIntervalMs ?? 10_000,
      fs: this.#fs,
      timers: this.#timers,
      logger: this.#log,
      sessions: () => this.#sessions.values(),
    })
  }

  // ---------------------------------------------------------------- durability seam

  get writeSeq(): number {
    return this.#seq
  }

  get degraded(): boolean {
    return this.#degraded
  }

  whenDurable(seq: number, cb: (err?: Error) => void): void {
    if (seq <= this.#durable) return cb()
    if (this.#degraded) return cb(this.#degradedError())
    const ws = this.#waiters
    let i = ws.length
    // Kept in seq order; callers pass the current writeSeq, so this is an append but for a rare older count.
    while (i > this.#waitHead && ws[i - 1].seq > seq) i--
    if (i === ws.length) ws.push({seq, cb})
    else ws.splice(i, 0, {seq, cb})
  }

  #degradedError(): Error {
    return Object.assign(new Error('the store cannot write to disk'), {code: 'ESTORE_DEGRADED'})
  }

  // ---------------------------------------------------------------- lifecycle

  async open(): Promise<void> {
    if (this.#opened) return
    this.#opened = true
    mkdirSync(this.#storeDir, {recursive: true, mode: 0o700})
    const started = this.#timers.now()
    const loaded = this.#load()
    const gen = loaded.maxGen + 1
    await this.#openJournal(gen)
    this.#gen = gen
    this.#sinceSnapshot = loaded.journalBytes
    const secs = ((this.#timers.now() - started) / 1000).toFixed(2)
    this.#log.info(
      `Store: loaded ${loaded.sessions} persistent sessions, ${loaded.messages} queued or in-flight messages and ${this.#retained.size} retained messages from ${this.#storeDir} in ${secs} s (sync ${this.#sync})`,
    )
    const view = readSubscriptionsFile(join(this.#dir, 'subscriptions.json'), this.#log, this.#timers.now())
    if (view !== undefined && this.#sessions.size === 0 && loaded.files === 0 && view.length > 0) {
      // A data directory from before the store (or a store removed by hand): take the readable view.
      for (const s of view) {
        const session = this.createSession(s.clientId, s.expiryInterval)
        for (const sub of s.subscriptions) this.addSubscription(session, sub.filter, sub.options)
      }
      this.#log.info(`Store: imported ${view.length} sessions with their subscriptions from subscriptions.json (the store was empty)`)
    }
    this.#subsFile.start(view === undefined || this.#sessions.size > 0)
    if (this.#sinceSnapshot > this.#compactBytes / 2 || loaded.journals > 2) this.#requestRotate('compact')
    this.#kick()
  }

  async close(): Promise<void> {
    if (this.#closed || !this.#opened) return
    this.#closed = true
    this.#timers.clearTimeout(this.#syncTimer)
    this.#timers.clearTimeout(this.#retryTimer)
    // The last batch and an fdatasync whatever the sync mode; an unfinished snapshot is abandoned
    // (its temporary file is removed at the next start; the journal has everything).
    this.#rotate = 'no'
    this.#unsynced = this.#unsynced || this.#sync === 'interval'
    while (this.#pumping || this.#kickScheduled) await new Promise((r) => setImmediate(r))
    await this.#pump(true)
    await this.#snapshotting?.catch(() => {})
    await this.#subsFile.stop()
    const file = this.#file
    this.#file = undefined
    if (file !== undefined) await this.#fs.close(file.fd).catch(() => {})
    // Whoever still waits (a failed last write) hears it now.
    this.#failWaiters(this.#degradedError())
  }

  // ---------------------------------------------------------------- Store: sessions

  getSession(clientId: string): SessionRecord | undefined {
    return this.#sessions.get(clientId)
  }

  createSession(clientId: string, expiryInterval: number): SessionRecord {
    const session: SessionRecord = {
      clientId,
      expiryInterval,
      subscriptions: new Map(),
      queuedBytes: 0,
      lastPacketId: 0,
      disconnectedAt: 0,
      willAt: 0,
      deadline: 0,
      bucket: 0,
    }
    const old = this.#sessions.get(clientId)
    if (old !== undefined) this.#forget(old)
    this.#sessions.set(clientId, session)
    if (expiryInterval > 0) {
      this.#persist(session)
    } else if (old !== undefined && this.#onDisk.has(old)) {
      writeKey(this.#begin(), T.SessionDel, clientId)
      this.#changedSubs()
    }
    return session
  }

  deleteSession(clientId: string): void {
    const old = this.#sessions.get(clientId)
    if (old === undefined) return
    this.#sessions.delete(clientId)
    if (this.#onDisk.has(old)) {
      this.#forget(old)
      writeKey(this.#begin(), T.SessionDel, clientId)
      this.#changedSubs()
    }
  }

  sessions(): Iterable<SessionRecord> {
    return this.#sessions.values()
  }

  get sessionCount(): number {
    return this.#sessions.size
  }

  touchSession(session: SessionRecord): void {
    if (this.#sessions.get(session.clientId) !== session) return
    const onDisk = this.#onDisk.has(session)
    if (session.expiryInterval > 0) {
      if (!onDisk) this.#persist(session)
      else writeSession(this.#begin(), T.Session, session)
    } else if (onDisk) {
      // No longer outlives its connection: nothing of it is kept.
      this.#forget(session)
      writeKey(this.#begin(), T.SessionDel, session.clientId)
      this.#changedSubs()
    }
  }

  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void {
    session.subscriptions.set(filter, options)
    if (this.#onDisk.has(session)) {
      writeSub(this.#begin(), session.clientId, filter, options)
      this.#changedSubs()
    }
  }

  removeSubscription(session: SessionRecord, filter: string): boolean {
    const had = session.subscriptions.delete(filter)
    if (had && this.#onDisk.has(session)) {
      writeUnsub(this.#begin(), session.clientId, filter)
      this.#changedSubs()
    }
    return had
  }

  // ---------------------------------------------------------------- Store: messages

  enqueue(session: SessionRecord, delivery: Delivery): void {
    ;(session.queue ??= []).push(delivery)
    if (!this.#onDisk.has(session)) return
    const qid = this.#nextId++
    delivery.storeQid = qid
    const w = this.#begin()
    writeQueue(w, session.clientId, qid, this.#msgRef(w, delivery.msg), delivery)
  }

  dequeue(session: SessionRecord): Delivery | undefined {
    const queue = session.queue
    if (queue === undefined) return undefined
    const d = queue.shift()
    if (queue.length === 0) session.queue = undefined
    // Not journaled here: the setInflight that follows takes it off the queue in the same record, so
    // no crash can find it in neither place. One dequeued and dropped (expired) stays on disk until
    // the next snapshot; after a restart it is dropped again.
    return d
  }

  setInflight(session: SessionRecord, delivery: Delivery): void {
    ;(session.inflight ??= new Map()).set(delivery.packetId, delivery)
    if (!this.#onDisk.has(session)) return
    const fromQid = delivery.storeQid ?? 0
    if (fromQid !== 0) delivery.storeQid = undefined
    const w = this.#begin()
    writeInflight(w, session.clientId, delivery.packetId, fromQid, delivery.released, this.#msgRef(w, delivery.msg), delivery)
  }

  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined {
    const inflight = session.inflight
    const d = inflight?.get(packetId)
    if (d === undefined) return undefined
    inflight!.delete(packetId)
    if (inflight!.size === 0) session.inflight = undefined
    if (this.#onDisk.has(session)) writeId(this.#begin(), T.InflightDel, session.clientId, packetId)
    return d
  }

  addIncoming(session: SessionRecord, packetId: number): void {
    ;(session.incoming ??= new Set()).add(packetId)
    if (this.#onDisk.has(session)) writeId(this.#begin(), T.Incoming, session.clientId, packetId)
  }

  deleteIncoming(session: SessionRecord, packetId: number): boolean {
    const incoming = session.incoming
    if (incoming === undefined || !incoming.delete(packetId)) return false
    if (incoming.size === 0) session.incoming = undefined
    if (this.#onDisk.has(session)) writeId(this.#begin(), T.IncomingDel, session.clientId, packetId)
    return true
  }

  /**
   * A delivery left the queue without going into flight (moved to another shared-subscription
   * member, or dropped): off the disk too. Optional in the Store interface; the broker calls it when
   * the store has it.
   */
  removeQueued(session: SessionRecord, delivery: Delivery): void {
    const qid = delivery.storeQid
    if (qid === undefined) return
    delivery.storeQid = undefined
    if (this.#onDisk.has(session)) writeDequeue(this.#begin(), session.clientId, qid)
  }

  // ---------------------------------------------------------------- Store: retained

  setRetained(msg: RetainedMessage): void {
    if (msg.payload.length === 0) return void this.deleteRetained(msg.topic)
    this.#retained.set(msg)
    if (!isSys(msg.topic)) writeRetain(this.#begin(), msg.topic, msg.payload, msg.qos, msg.properties, msg.expiresAt ?? 0, (msg as {raw?: Buffer}).raw)
  }

  deleteRetained(topic: string): boolean {
    if (!this.#retained.delete(topic)) return false
    if (!isSys(topic)) writeRetainDel(this.#begin(), topic)
    return true
  }

  matchRetained(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    const gone: RetainedMessage[] = []
    const out = this.#retained.match(filter, now, gone)
    for (const m of gone) {
      if (!isSys(m.topic)) writeRetainDel(this.#begin(), m.topic)
      expired?.push(m)
    }
    return out
  }

  get retainedCount(): number {
    return this.#retained.size
  }

  // ---------------------------------------------------------------- figures

  figures(): StoreFigures {
    let bytes = 0
    for (const n of this.#fileSizes.values()) bytes += n
    if (this.#file !== undefined) bytes += this.#file.size
    let stored = 0
    for (const s of this.#sessions.values()) {
      if (!this.#onDisk.has(s)) continue
      stored += (s.queue?.length ?? 0) + (s.inflight?.size ?? 0)
    }
    const n = Math.min(this.#latN, LAT_SAMPLES)
    const lat = Array.from(this.#lat.subarray(0, n)).sort((a, b) => a - b)
    const pct = (p: number) => (n === 0 ? 0 : lat[Math.min(n - 1, Math.floor(p * n))])
    return {
      kind: 'durable',
      sync: this.#sync,
      bytesOnDisk: bytes,
      persistentSessions: this.#persistent,
      storedMessages: stored,
      retained: this.#retained.size,
      fsyncs: this.#fsyncs,
      fsyncP50Ms: pct(0.5),
      fsyncP99Ms: pct(0.99),
      batches: this.#batches,
      degraded: this.#degraded,
      degradedEpisodes: this.#episodes,
      compactions: this.#compactions,
    }
  }

  /** Tests and the bench: start a compaction now and wait for it. */
  async compact(): Promise<void> {
    this.#requestRotate('compact')
    this.#kick()
    while (this.#rotate !== 'no' || this.#pumping || this.#kickScheduled) await new Promise((r) => setImmediate(r))
    await this.#snapshotting
  }

  /** Resolves once everything appended so far is durable (or rejects with the write error). */
  flushed(): Promise<void> {
    return new Promise((resolve, reject) => this.whenDurable(this.#seq, (err) => (err ? reject(err) : resolve())))
  }

  // ---------------------------------------------------------------- journaling

  /** One change: counted, and its record goes into the next batch. */
  #begin(): RecordWriter {
    this.#seq++
    this.#kick()
    return this.#w
  }

  #msgRef(w: RecordWriter, m: Message): number {
    let ref = this.#msgs.get(m)
    if (ref === undefined) {
      ref = {id: this.#nextId++, gen: -1}
      this.#msgs.set(m, ref)
    }
    if (ref.gen !== this.#gen) {
      ownMessage(m)
      writeMsg(w, ref.id, m)
      ref.gen = this.#gen
    }
    return ref.id
  }

  /** A session starts to outlive its connection: all of it goes to disk. */
  #persist(session: SessionRecord): void {
    this.#onDisk.add(session)
    this.#persistent++
    const w = this.#begin()
    writeSession(w, T.SessionNew, session)
    this.#writeChildren(w, session, undefined)
    this.#changedSubs()
  }

  #forget(session: SessionRecord): void {
    if (this.#onDisk.has(session)) {
      this.#onDisk.delete(session)
      this.#persistent--
    }
  }

  /** Subscriptions, incoming QoS 2 ids, in-flight and queued deliveries of a session. */
  #writeChildren(w: RecordWriter, s: SessionRecord, written: Set<number> | undefined): void {
    for (const [filter, options] of s.subscriptions) writeSub(w, s.clientId, filter, options)
    if (s.incoming !== undefined) for (const id of s.incoming) writeId(w, T.Incoming, s.clientId, id)
    if (s.inflight !== undefined) {
      for (const d of s.inflight.values()) writeInflight(w, s.clientId, d.packetId, 0, d.released, this.#ref(w, d.msg, written), d)
    }
    if (s.queue !== undefined) {
      for (const d of s.queue) {
        let qid = d.storeQid
        if (qid === undefined) d.storeQid = qid = this.#nextId++
        writeQueue(w, s.clientId, qid, this.#ref(w, d.msg, written), d)
      }
    }
  }

  /** The message's id, its body written first: into the journal, or once per snapshot (`written`). */
  #ref(w: RecordWriter, m: Message, written: Set<number> | undefined): number {
    if (written === undefined) return this.#msgRef(w, m)
    let ref = this.#msgs.get(m)
    if (ref === undefined) {
      ref = {id: this.#nextId++, gen: -1}
      this.#msgs.set(m, ref)
    }
    if (!written.has(ref.id)) {
      written.add(ref.id)
      ownMessage(m)
      writeMsg(w, ref.id, m)
    }
    return ref.id
  }

  #changedSubs(): void {
    this.#subsFile.changed()
  }

  #kick(): void {
    if (this.#pumping || this.#kickScheduled || !this.#opened || this.#closed) return
    this.#kickScheduled = true
    setImmediate(() => {
      this.#kickScheduled = false
      void this.#pump(false)
    })
  }

  #requestRotate(kind: 'compact' | 'recover'): void {
    if (kind === 'recover' || this.#rotate === 'no') this.#rotate = kind
  }

  /** The single writer: batches, rotations, syncs, one at a time. */
  async #pump(final: boolean): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      for (;;) {
        if (this.#degraded && !this.#recovering && this.#rotate !== 'recover') {
          // Nothing reaches the disk until a snapshot of the memory state does (the retry).
          this.#w.take()
          break
        }
        if (this.#rotate !== 'no' && this.#snapshotting === undefined && !final) {
          const kind = this.#rotate
          this.#rotate = 'no'
          await this.#rotateNow(kind)
          continue
        }
        if (this.#w.pending === 0) {
          if (this.#unsynced && (final || this.#timers.now() - this.#lastSync >= this.#syncIntervalMs)) await this.#datasync()
          break
        }
        const file = this.#file!
        const bufs = this.#w.take()
        const seq = this.#seq
        const n = await writeAll(this.#fs, file.fd, bufs, file.size)
        file.size += n
        this.#sinceSnapshot += n
        this.#batches++
        if (this.#sync === 'always') await this.#datasync()
        else {
          this.#unsynced = true
          this.#armSyncTimer()
        }
        this.#advance(seq)
        if (this.#sinceSnapshot >= this.#compactBytes && this.#timers.now() >= this.#compactBackoffUntil) this.#requestRotate('compact')
      }
    } catch (error) {
      this.#fail(error as NodeJS.ErrnoException)
    } finally {
      this.#pumping = false
    }
    if (!final && !this.#degraded && (this.#w.pending > 0 || (this.#rotate !== 'no' && this.#snapshotting === undefined))) this.#kick()
  }

  async #datasync(): Promise<void> {
    const file = this.#file!
    const t0 = performance.now()
    await this.#fs.fdatasync(file.fd)
    this.#lat[this.#latN++ % LAT_SAMPLES] = performance.now() - t0
    this.#fsyncs++
    this.#unsynced = false
    this.#lastSync = this.#timers.now()
  }

  #armSyncTimer(): void {
    if (this.#syncTimer !== undefined) return
    this.#syncTimer = this.#timers.setTimeout(() => {
      this.#syncTimer = undefined
      if (this.#unsynced) {
        this.#lastSync = 0 // due now
        this.#kick()
      }
    }, this.#syncIntervalMs)
  }

  /** Everything up to `seq` is in the journal: tell the waiters (not past a recovery barrier). */
  #advance(seq: number): void {
    if (seq > this.#written) this.#written = seq
    const upTo = Math.min(this.#written, this.#barrier)
    if (upTo <= this.#durable) return
    this.#durable = upTo
    const ws = this.#waiters
    let i = this.#waitHead
    while (i < ws.length && ws[i].seq <= upTo) {
      const w = ws[i++]
      this.#waitHead = i
      w.cb()
    }
    if (i === ws.length) {
      this.#waiters = []
      this.#waitHead = 0
    } else if (i > 1024) {
      this.#waiters = ws.slice(i)
      this.#waitHead = 0
    } else this.#waitHead = i
  }

  #failWaiters(err: Error): void {
    const ws = this.#waiters.slice(this.#waitHead)
    this.#waiters = []
    this.#waitHead = 0
    for (const w of ws) w.cb(err)
  }

  /** A write, fsync or snapshot failed: degraded until a snapshot can be written. */
  #fail(error: NodeJS.ErrnoException): void {
    this.#failures++
    this.#w.take() // what could not be written: the recovery snapshot writes the memory state instead
    const first = !this.#degraded
    this.#degraded = true
    this.#recovering = false
    this.#barrier = Infinity
    this.#rotate = 'no'
    const err = Object.assign(new Error(`the store cannot write to disk: ${error.code ?? error.message}`), {code: error.code ?? 'EIO', cause: error})
    this.#failWaiters(err)
    if (first) {
      this.#episodes++
      this.#degradedAt = this.#timers.now()
      this.#log.error(
        `Store: cannot write in ${this.#storeDir} (${error.code ?? ''} ${error.message}); refusing new QoS 1/2 work that needs the disk until it can write again, QoS 0 keeps flowing; retrying every ${this.#retryMs} ms`,
      )
    }
    if (!this.#closed) {
      this.#timers.clearTimeout(this.#retryTimer)
      this.#retryTimer = this.#timers.setTimeout(() => {
        this.#retryTimer = undefined
        if (this.#closed || !this.#degraded) return
        this.#requestRotate('recover')
        this.#kick()
      }, this.#retryMs)
    }
  }

  /**
   * A new generation: the rest of the current batch goes to the old journal (not when recovering:
   * that journal could not be written), then a new journal takes every later change and a snapshot
   * of the state is written beside it in the background.
   */
  async #rotateNow(kind: 'compact' | 'recover'): Promise<void> {
    const recovering = kind === 'recover'
    if (!recovering && this.#w.pending > 0) {
      const file = this.#file!
      const bufs = this.#w.take()
      const seq = this.#seq
      file.size += await writeAll(this.#fs, file.fd, bufs, file.size)
      await this.#datasync()
      this.#advance(seq)
    } else if (!recovering && this.#unsynced) await this.#datasync()
    const old = this.#file
    const gen = this.#gen + 1
    if (recovering) this.#w.take() // the memory state goes into the snapshot instead
    await this.#openJournal(gen)
    if (old !== undefined) {
      this.#fileSizes.set(old.path, old.size)
      await this.#fs.close(old.fd).catch(() => {})
    }
    this.#gen = gen
    this.#sinceSnapshot = 0
    if (recovering) {
      // Changes from here on go to the new journal; they are durable once the snapshot is too.
      this.#barrier = this.#seq
      this.#recovering = true
    }
    const failuresBefore = this.#failures
    const snapshot = this.#writeSnapshot(gen)
    this.#snapshotting = snapshot.then(
      () => {
        this.#snapshotting = undefined
        this.#compactions++
        // A journal write failed while the snapshot was written: still degraded, the next retry decides.
        if (recovering && this.#failures === failuresBefore) {
          this.#barrier = Infinity
          this.#degraded = false
          const secs = ((this.#timers.now() - this.#degradedAt) / 1000).toFixed(1)
          this.#log.warn(`Store: writing to ${this.#storeDir} again after ${secs} s; accepting QoS 1/2 work that needs the disk again`)
          this.#recovering = false
          this.#advance(this.#written)
        }
        this.#kick()
      },
      (error: NodeJS.ErrnoException) => {
        this.#snapshotting = undefined
        this.#recovering = false
        if (this.#closed) return
        if (recovering || this.#degraded) this.#fail(error)
        else {
          // The old snapshot and journals are still there and complete: only compaction waits.
          this.#compactBackoffUntil = this.#timers.now() + 60_000
          this.#log.warn(`Store: snapshot ${gen} could not be written (${error.code ?? error.message}); the journal keeps everything, next try in 60 s`)
        }
      },
    )
  }

  async #openJournal(gen: number): Promise<void> {
    const path = join(this.#storeDir, `journal-${gen}.log`)
    const fd = await this.#fs.open(path, 'w')
    try {
      const w = new RecordWriter(64)
      writeHeader(w, 0, gen)
      const bufs = w.take()
      const size = await writeAll(this.#fs, fd, bufs, 0)
      await this.#fs.fdatasync(fd)
      await fsyncDir(this.#fs, this.#storeDir)
      this.#file = {path, gen, fd, size}
    } catch (error) {
      await this.#fs.close(fd).catch(() => {})
      throw error
    }
  }

  /** The state, a chunk at a time, into snapshot-<gen>.bin; then the files it replaces go. */
  async #writeSnapshot(gen: number): Promise<void> {
    const sessions = [...this.#sessions.values()]
    const retained = [...this.#retained.all()]
    const path = join(this.#storeDir, `snapshot-${gen}.bin`)
    const tmp = `${path}.tmp`
    const fs = this.#fs
    const fd = await fs.open(tmp, 'w')
    let pos = 0
    let ok = false
    try {
      const w = new RecordWriter(CHUNK_BYTES)
      const written = new Set<number>()
      writeHeader(w, 1, gen)
      const write = async () => {
        pos += await writeAll(fs, fd, w.take(), pos)
      }
      for (const s of sessions) {
        if (this.#closed) throw Object.assign(new Error('store closed'), {code: 'ECLOSED'})
        // Gone or replaced since the rotation: the new journal has that.
        if (this.#sessions.get(s.clientId) !== s || !this.#onDisk.has(s)) continue
        writeSession(w, T.SessionNew, s)
        this.#writeChildren(w, s, written)
        if (w.pending >= CHUNK_BYTES) await write()
      }
      const now = this.#timers.now()
      for (const r of retained) {
        if (isSys(r.topic)) continue
        if (r.expiresAt !== undefined && r.expiresAt !== 0 && r.expiresAt <= now) continue
        writeRetain(w, r.topic, r.payload, r.qos, r.properties, r.expiresAt ?? 0, (r as {raw?: Buffer}).raw)
        if (w.pending >= CHUNK_BYTES) {
          if (this.#closed) throw Object.assign(new Error('store closed'), {code: 'ECLOSED'})
          await write()
        }
      }
      writeSnapEnd(w, w.records)
      await write()
      await fs.fdatasync(fd)
      ok = true
    } finally {
      await fs.close(fd).catch(() => {})
      if (!ok) await fs.unlink(tmp).catch(() => {})
    }
    await fs.rename(tmp, path)
    await fsyncDir(fs, this.#storeDir)
    this.#fileSizes.set(path, pos)
    // The base is complete: older snapshots and journals are not needed any more.
    for (const name of readdirSync(this.#storeDir)) {
      const m = JOURNAL.exec(name) ?? SNAPSHOT.exec(name)
      if (m !== null && Number(m[1]) < gen) {
        const p = join(this.#storeDir, name)
        await fs.unlink(p).catch(() => {})
        this.#fileSizes.delete(p)
      }
    }
    await fsyncDir(fs, this.#storeDir)
    this.#log.debug(`Store: snapshot ${gen} written (${sessions.length} sessions, ${retained.length} retained, ${pos} bytes)`)
  }

  // ---------------------------------------------------------------- loading

  /** Reads the newest snapshot and the journals after it; bad parts are moved aside and reported. */
  #load(): {maxGen: number; sessions: number; messages: number; journalBytes: number; journals: number; files: number} {
    try {
      return this.#loadFiles()
    } catch (error) {
      if (error instanceof NewerFormatError) {
        throw new Error(`a store file in ${this.#storeDir} has ${error.message}: not read, not changed; run the newer broker, or move the store away to start empty`)
      }
      throw error
    }
  }

  #loadFiles(): {maxGen: number; sessions: number; messages: number; journalBytes: number; journals: number; files: number} {
    const dir = this.#storeDir
    const journals: number[] = []
    const snapshots: number[] = []
    let maxGen = 0
    for (const name of readdirSync(dir)) {
      let m = JOURNAL.exec(name)
      if (m !== null) {
        journals.push(Number(m[1]))
        continue
      }
      m = SNAPSHOT.exec(name)
      if (m !== null) {
        snapshots.push(Number(m[1]))
        continue
      }
      m = SNAPSHOT_TMP.exec(name)
      if (m !== null) {
        maxGen = Math.max(maxGen, Number(m[1]))
        this.#log.info(`Store: removing ${name}, a snapshot that was not finished (the journal holds its changes)`)
        unlinkSync(join(dir, name))
      }
    }
    journals.sort((a, b) => a - b)
    snapshots.sort((a, b) => a - b)
    const state = new LoadState()
    const base = snapshots.length > 0 ? snapshots[snapshots.length - 1] : 0
    for (const g of [...journals, ...snapshots]) maxGen = Math.max(maxGen, g)
    const stamp = stampOf(this.#timers.now())

    if (snapshots.length > 0) {
      const path = join(dir, `snapshot-${base}.bin`)
      let ended = false
      let first = true
      let scan
      try {
        scan = scanFile(path, (rec) => {
          if (first) {
            first = false
            if (rec.t !== T.Header || rec.kind !== 1 || rec.gen !== base) throw new BadFile('not a snapshot of this generation')
            return
          }
          if (rec.t === T.SnapEnd) ended = true
          else if (ended) throw new BadFile('records after the end of the snapshot')
          else state.apply(rec)
        })
      } catch (error) {
        if (!(error instanceof BadFile)) throw error
        // What was applied before the bad record stays; the rest of the file is moved aside below.
        scan = {records: 0, goodBytes: 0, size: statSync(path).size, problem: error.message}
      }
      this.#fileSizes.set(path, scan.goodBytes)
      if (scan.problem !== undefined || !ended) {
        const why = scan.problem ?? 'no end record'
        const aside = scan.goodBytes < scan.size ? moveAside(path, scan.goodBytes, stamp) : undefined
        this.#log.error(
          `Store: ${path} is damaged at byte ${scan.goodBytes} of ${scan.size} (${why}): kept the ${scan.records} records before it${aside ? `, moved the rest to ${aside}` : ''}; starting with what was kept and the journal`,
        )
      }
    }
    let journalBytes = 0
    let replayed = 0
    for (const g of journals) {
      const path = join(dir, `journal-${g}.log`)
      if (g < base) {
        // Left over from a compaction that finished: the snapshot has it.
        unlinkSync(path)
        continue
      }
      let first = true
      let scan
      try {
        scan = scanFile(path, (rec) => {
          if (first) {
            first = false
            if (rec.t !== T.Header || rec.kind !== 0 || rec.gen !== g) throw new BadFile('not a journal of this generation')
            return
          }
          state.apply(rec)
        })
      } catch (error) {
        if (!(error instanceof BadFile)) throw error
        scan = {records: 0, goodBytes: 0, size: statSync(path).size, problem: error.message}
      }
      replayed++
      journalBytes += scan.goodBytes
      this.#fileSizes.set(path, scan.goodBytes)
      if (scan.problem !== undefined) {
        const aside = moveAside(path, scan.goodBytes, stamp)
        this.#log.error(
          `Store: ${path} is damaged at byte ${scan.goodBytes} of ${scan.size} (${scan.problem}): kept the ${Math.max(0, scan.records - 1)} changes before it, moved the other ${scan.size - scan.goodBytes} bytes to ${aside}; starting with what was kept`,
        )
      }
    }
    const {sessions, messages} = this.#adopt(state)
    return {maxGen, sessions, messages, journalBytes, journals: replayed, files: journals.length + snapshots.length}
  }

  /** The loaded state becomes the store's records. */
  #adopt(state: LoadState): {sessions: number; messages: number} {
    let messages = 0
    for (const ls of state.sessions.values()) {
      const s = ls.rec
      if (ls.queue.size > 0) {
        const qids = [...ls.queue.keys()]
        if (ls.unsorted) qids.sort((a, b) => a - b)
        s.queue = qids.map((q) => {
          const d = ls.queue.get(q)!
          d.storeQid = q
          s.queuedBytes += messageBytes(d)
          return d
        })
        messages += qids.length
      }
      if (s.inflight !== undefined) {
        messages += s.inflight.size
        for (const id of s.inflight.keys()) s.lastPacketId = Math.max(s.lastPacketId, id)
      }
      this.#sessions.set(s.clientId, s)
      this.#onDisk.add(s)
      this.#persistent++
    }
    for (const r of state.retained.values()) this.#retained.set(r)
    this.#nextId = Math.max(this.#nextId, state.maxId + 1)
    return {sessions: state.sessions.size, messages}
  }
}

class BadFile extends Error {}

/** $SYS/... retained messages are the broker's statistics, published again every tick: never journaled. */
function isSys(topic: string): boolean {
  return topic.startsWith('$SYS/')
}

interface LoadSession {
  rec: SessionRecord
  /** By queue id; in insertion order, which is id order unless `unsorted`. */
  queue: Map<number, Delivery>
  lastQid: number
  unsorted: boolean
}

/** Replay target: absolute changes by key (see codec.ts for why replay order makes this exact). */
class LoadState {
  readonly sessions = new Map<string, LoadSession>()
  readonly retained = new Map<string, RetainedMessage>()
  readonly msgs = new Map<number, Message>()
  maxId = 0

  apply(rec: Rec): void {
    switch (rec.t) {
      case T.Header:
      case T.SnapEnd:
        return
      case T.SessionNew:
      case T.Session: {
        let ls = this.sessions.get(rec.clientId)
        if (ls === undefined || rec.t === T.SessionNew) {
          ls = {
            rec: {clientId: rec.clientId, expiryInterval: 0, subscriptions: new Map(), queuedBytes: 0, lastPacketId: 0, disconnectedAt: 0, willAt: 0, deadline: 0, bucket: 0},
            queue: new Map(),
            lastQid: 0,
            unsorted: false,
          }
          this.sessions.set(rec.clientId, ls)
        }
        const s = ls.rec
        s.expiryInterval = rec.expiryInterval
        s.disconnectedAt = rec.disconnectedAt
        s.willAt = rec.willAt
        s.pendingWill = rec.pendingWill
        if (rec.pendingWill === undefined) delete s.pendingWill
        return
      }
      case T.SessionDel:
        this.sessions.delete(rec.clientId)
        return
      case T.Sub:
        this.sessions.get(rec.clientId)?.rec.subscriptions.set(rec.filter, internOptions(rec.options))
        return
      case T.Unsub:
        this.sessions.get(rec.clientId)?.rec.subscriptions.delete(rec.filter)
        return
      case T.Msg:
        this.msgs.set(rec.msgId, rec.msg)
        if (rec.msgId > this.maxId) this.maxId = rec.msgId
        return
      case T.Queue: {
        const ls = this.sessions.get(rec.clientId)
        const msg = this.msgs.get(rec.msgId)
        if (rec.qid > this.maxId) this.maxId = rec.qid
        if (ls === undefined || msg === undefined) return
        if (rec.qid < ls.lastQid) ls.unsorted = true
        ls.lastQid = rec.qid
        ls.queue.set(rec.qid, delivery(rec, msg, 0, false))
        return
      }
      case T.Dequeue:
        this.sessions.get(rec.clientId)?.queue.delete(rec.qid)
        return
      case T.Inflight: {
        const ls = this.sessions.get(rec.clientId)
        const msg = this.msgs.get(rec.msgId)
        if (ls === undefined || msg === undefined) return
        if (rec.fromQid !== 0) ls.queue.delete(rec.fromQid)
        ;(ls.rec.inflight ??= new Map()).set(rec.packetId, delivery(rec, msg, rec.packetId, rec.released))
        return
      }
      case T.InflightDel: {
        const s = this.sessions.get(rec.clientId)?.rec
        if (s?.inflight === undefined) return
        s.inflight.delete(rec.packetId)
        if (s.inflight.size === 0) s.inflight = undefined
        return
      }
      case T.Incoming: {
        const s = this.sessions.get(rec.clientId)?.rec
        if (s !== undefined) (s.incoming ??= new Set()).add(rec.packetId)
        return
      }
      case T.IncomingDel: {
        const s = this.sessions.get(rec.clientId)?.rec
        if (s?.incoming === undefined) return
        s.incoming.delete(rec.packetId)
        if (s.incoming.size === 0) s.incoming = undefined
        return
      }
      case T.Retain: {
        const r: RetainedMessage = {topic: rec.topic, payload: rec.payload, qos: rec.qos}
        if (rec.properties !== undefined) r.properties = rec.properties
        if (rec.expiresAt !== 0) r.expiresAt = rec.expiresAt
        if (rec.raw !== undefined) (r as {raw?: Buffer}).raw = rec.raw
        this.retained.set(rec.topic, r)
        return
      }
      case T.RetainDel:
        this.retained.delete(rec.topic)
        return
    }
  }
}

/** A loaded delivery, its fields in the order Outbound creates them (one hidden class). */
function delivery(ref: {qos: 0 | 1 | 2; retain: boolean; subscriptionIds?: number[]; shared?: string}, msg: Message, packetId: number, released: boolean): Delivery {
  return {msg, qos: ref.qos, retain: ref.retain, subscriptionIds: ref.subscriptionIds, packetId, released, sent: packetId !== 0, shared: ref.shared}
}
