/**
 * The durable Store: the same in-memory records as the memory store, plus an append-only journal on
 * disk under <dataDir>/store/ that every change of a persistent session (session expiry > 0) or a
 * retained message is written to, and from which the state is loaded at start.
 *
 *   journal.ts   group commit, sync modes, rotation, disk-error recovery (the single writer)
 *   snapshot.ts  compaction: the state written beside a new journal, a chunk at a time
 *   load.ts      loading at start (load-state.ts: the replay target), damaged files moved aside
 *   codec.ts     the record format (encode.ts, decode.ts); refs.ts: message bodies written once
 *
 * Files: store/journal-<gen>.log, store/snapshot-<gen>.bin (the base of journals >= gen), and
 * <dataDir>/subscriptions.json (a readable view written atomically, see subscriptions-file.ts).
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {type Clock, systemClock} from '../clock.js'
import {type Logger, silentLogger} from '../log.js'
import type {Delivery} from '../message.js'
import type {SubOptions} from '../topics/types.js'
import {AliveMark, readAlive} from './alive.js'
import {StoreBase} from './base.js'
import {T} from './codec.js'
import {type RecordWriter, writeDequeue, writeId, writeInflight, writeKey, writeQueue, writeSession, writeSub, writeUnsub} from './encode.js'
import {durableFigures, type StoreFigures, type SyncMode} from './figures.js'
import {nodeFs, type StoreFs} from './files.js'
import {Journal} from './journal.js'
import {loadStore} from './load.js'
import {MessageRefs} from './refs.js'
import {newSession, pushQueued, putIncoming, putInflight, shiftQueued, takeIncoming, takeInflight} from './session-record.js'
import {JournaledRetained} from './retained-journal.js'
import {type SnapshotSource, writeSnapshot} from './snapshot.js'
import type {SessionRecord, Store, WillRecord} from './store.js'
import {importView, readSubscriptionsFile, SubscriptionsFile} from './subscriptions-file.js'

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

export class DurableStore extends StoreBase implements Store {
  protected readonly retained: JournaledRetained
  /** Sessions whose records are on disk. */
  readonly #onDisk = new WeakSet<SessionRecord>()
  /** Clean sessions whose header is on disk for their connection's will only (nothing else of them). */
  readonly #willOnly = new WeakSet<SessionRecord>()
  #persistent = 0
  readonly #refs = new MessageRefs()
  /** Sizes of the store files other than the open journal (for bytesOnDisk). */
  readonly #fileSizes = new Map<string, number>()

  readonly #dir: string
  readonly #storeDir: string
  readonly #sync: SyncMode
  readonly #log: Logger
  readonly #clock: Clock
  readonly #journal: Journal
  readonly #subsFile: SubscriptionsFile
  readonly #alive: AliveMark
  #opened = false
  #closed = false

  constructor(options: DurableStoreOptions) {
    super()
    this.#dir = options.dir
    this.#storeDir = join(options.dir, 'store')
    this.#sync = options.sync ?? 'always'
    this.#log = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    const fs = options.fs ?? nodeFs
    const source: SnapshotSource = {storeDir: this.#storeDir, fs, clock: this.#clock, log: this.#log, refs: this.#refs, sessions: this.sessionMap, fileSizes: this.#fileSizes,
      retained: () => this.retained.all(),
      onDisk: (s) => this.#onDisk.has(s),
      willOnly: (s) => this.#willOnly.has(s),
      closed: () => this.#journal.closed,
    }
    this.#journal = new Journal({
      fileSizes: this.#fileSizes,
      storeDir: this.#storeDir,
      sync: this.#sync,
      syncIntervalMs: options.syncIntervalMs ?? 1000,
      compactBytes: options.compactBytes ?? 64 * 1024 * 1024,
      retryMs: options.retryMs ?? 1000,
      log: this.#log,
      fs,
      clock: this.#clock,
      snapshot: (gen) => writeSnapshot(source, gen),
    })
    this.retained = new JournaledRetained(() => this.#begin())
    this.#alive = new AliveMark(join(this.#storeDir, 'alive'), fs, this.#clock)
    this.#subsFile = new SubscriptionsFile({
      path: join(options.dir, 'subscriptions.json'),
      intervalMs: options.subscriptionsIntervalMs ?? 10_000,
      fs,
      timers: this.#clock,
      logger: this.#log,
      sessions: () => this.sessionMap.values(),
    })
  }

  // ---------------------------------------------------------------- durability seam

  get writeSeq(): number {
    return this.#journal.seq
  }

  get degraded(): boolean {
    return this.#journal.degraded
  }

  whenDurable(seq: number, cb: (err?: Error) => void): void {
    this.#journal.whenDurable(seq, cb)
  }

  // ---------------------------------------------------------------- lifecycle

  async open(): Promise<void> {
    if (this.#opened) return
    this.#opened = true
    mkdirSync(this.#storeDir, {recursive: true, mode: 0o700})
    const started = this.#clock.now()
    const loaded = loadStore(this.#storeDir, this.#log, this.#clock, this.#fileSizes)
    // The previous run went down when it was last alive (or, without a mark, now: from before marks).
    const lastAlive = readAlive(this.#alive.path)
    const downAt = lastAlive !== undefined && lastAlive <= started ? lastAlive : started
    const crashed: SessionRecord[] = []
    let messages = 0
    for (const s of loaded.state.finish(downAt, crashed)) {
      messages += (s.queue?.length ?? 0) + (s.inflight?.size ?? 0)
      this.sessionMap.set(s.clientId, s)
      if (s.expiryInterval === 0) {
        this.#willOnly.add(s) // a clean session connected at the crash: ends at start, its will goes out
        continue
      }
      this.#onDisk.add(s)
      this.#persistent++
    }
    for (const r of loaded.state.retained.values()) this.retained.load(r)
    this.#refs.loaded(loaded.state.maxId)
    await this.#journal.start(loaded.maxGen + 1, loaded.journalBytes, loaded.journals > 2 || loaded.damaged)
    await this.#alive.start()
    if (crashed.length > 0) {
      // Disconnected since the broker went down, on disk too (a second crash must not move that time).
      for (const s of crashed) writeSession(this.#begin(), T.Session, s)
      const wills = crashed.filter((s) => s.pendingWill !== undefined).length
      this.#log.info(
        `Store: ${crashed.length} sessions were connected when the broker went down (last alive ${new Date(downAt).toISOString()}): disconnected since then, ${wills} of their wills due by their delay from then`,
      )
    }
    const secs = ((this.#clock.now() - started) / 1000).toFixed(2)
    this.#log.info(
      `Store: loaded ${this.sessionMap.size} persistent sessions, ${messages} queued or in-flight messages and ${this.retained.size} retained messages from ${this.#storeDir} in ${secs} s (sync ${this.#sync})`,
    )
    const view = readSubscriptionsFile(join(this.#dir, 'subscriptions.json'), this.#log, this.#clock.now())
    if (view !== undefined && this.sessionMap.size === 0 && loaded.files === 0 && view.length > 0) importView(view, this, this.#log)
    this.#subsFile.start(view === undefined || this.sessionMap.size > 0)
  }

  async close(): Promise<void> {
    if (!this.#opened || this.#closed) return
    this.#closed = true
    await this.#journal.close()
    await this.#alive.stop()
    await this.#subsFile.stop()
  }

  // ---------------------------------------------------------------- Store: sessions

  createSession(clientId: string, expiryInterval: number, will?: WillRecord): SessionRecord {
    const session = newSession(clientId, expiryInterval, will)
    const old = this.sessionMap.get(clientId)
    const oldOnDisk = old !== undefined && (this.#forget(old) || this.#willOnly.delete(old))
    this.sessionMap.set(clientId, session)
    if (expiryInterval > 0) this.#persist(session)
    else if (will !== undefined) this.#keepWill(session)
    else if (oldOnDisk) this.#writeDelete(clientId)
    return session
  }

  deleteSession(clientId: string): void {
    const old = this.sessionMap.get(clientId)
    if (old === undefined) return
    this.sessionMap.delete(clientId)
    if (this.#forget(old)) this.#writeDelete(clientId)
    else if (this.#willOnly.delete(old)) writeKey(this.#journal.append(), T.SessionDel, clientId)
  }

  touchSession(session: SessionRecord): void {
    if (this.sessionMap.get(session.clientId) !== session) return
    if (session.disconnectedAt !== 0) session.connectionWill = undefined // its connection is gone
    if (session.expiryInterval > 0) {
      if (!this.#onDisk.has(session)) this.#persist(session)
      else writeSession(this.#begin(), T.Session, session)
    } else if (this.#forget(session)) {
      // No longer outlives its connection: nothing of it is kept but its connection's will.
      this.#writeDelete(session.clientId)
      if (session.connectionWill !== undefined) this.#keepWill(session)
    }
  }

  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void {
    session.subscriptions.set(filter, options)
    if (this.#onDisk.has(session)) {
      writeSub(this.#begin(), session.clientId, filter, options)
      this.#subsFile.changed()
    }
  }

  removeSubscription(session: SessionRecord, filter: string): boolean {
    const had = session.subscriptions.delete(filter)
    if (had && this.#onDisk.has(session)) {
      writeUnsub(this.#begin(), session.clientId, filter)
      this.#subsFile.changed()
    }
    return had
  }

  // ---------------------------------------------------------------- Store: messages

  enqueue(session: SessionRecord, delivery: Delivery): void {
    pushQueued(session, delivery)
    if (!this.#onDisk.has(session)) return
    const qid = this.#refs.nextId()
    delivery.storeQid = qid
    const w = this.#begin()
    writeQueue(w, session.clientId, qid, this.#refs.inJournal(w, delivery.msg, this.#journal.gen), delivery)
  }

  /**
   * Not journaled here: the setInflight that follows takes it off the queue in the same record, so
   * no crash can find it in neither place. One dequeued and dropped (expired) is forgotten through
   * removeQueued; else it comes back after a restart and is dropped again.
   */
  dequeue(session: SessionRecord): Delivery | undefined {
    return shiftQueued(session)
  }

  setInflight(session: SessionRecord, delivery: Delivery): void {
    putInflight(session, delivery)
    if (!this.#onDisk.has(session)) return
    const fromQid = delivery.storeQid ?? 0
    if (fromQid !== 0) delivery.storeQid = undefined
    const w = this.#begin()
    writeInflight(w, session.clientId, delivery.packetId, fromQid, delivery.released, this.#refs.inJournal(w, delivery.msg, this.#journal.gen), delivery)
  }

  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined {
    const d = takeInflight(session, packetId)
    if (d !== undefined && this.#onDisk.has(session)) writeId(this.#begin(), T.InflightDel, session.clientId, packetId)
    return d
  }

  addIncoming(session: SessionRecord, packetId: number): void {
    putIncoming(session, packetId)
    if (this.#onDisk.has(session)) writeId(this.#begin(), T.Incoming, session.clientId, packetId)
  }

  deleteIncoming(session: SessionRecord, packetId: number): boolean {
    if (!takeIncoming(session, packetId)) return false
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

  // ---------------------------------------------------------------- figures

  figures(): StoreFigures {
    let stored = 0
    for (const s of this.sessionMap.values()) {
      if (this.#onDisk.has(s)) stored += (s.queue?.length ?? 0) + (s.inflight?.size ?? 0)
    }
    return durableFigures(this.#journal, this.#sync, {persistentSessions: this.#persistent, storedMessages: stored, retained: this.retained.size})
  }

  /** Tests and the bench: start a compaction now and wait for it. */
  compact(): Promise<void> {
    return this.#journal.compact()
  }

  /** Resolves once everything appended so far is durable (or rejects with the write error). */
  flushed(): Promise<void> {
    return new Promise((resolve, reject) => this.whenDurable(this.#journal.seq, (err) => (err ? reject(err) : resolve())))
  }

  // ---------------------------------------------------------------- journaling

  #begin(): RecordWriter {
    return this.#journal.begin()
  }

  /** A session starts to outlive its connection: all of it goes to disk. */
  #persist(session: SessionRecord): void {
    this.#onDisk.add(session)
    this.#persistent++
    const w = this.#begin()
    writeSession(w, T.SessionNew, session)
    this.#refs.writeChildren(w, session, this.#journal.gen)
    this.#subsFile.changed()
  }

  /**
   * A clean session's connection has a will: its header (with the will) goes to disk, uncounted (its
   * CONNACK does not wait: nothing else of a clean session is written), so a crash does not lose the
   * will (a session that outlives its connection keeps its will in its own record).
   */
  #keepWill(session: SessionRecord): void {
    this.#willOnly.add(session)
    writeSession(this.#journal.append(), T.SessionNew, session)
  }

  /** The session's records are no longer kept; true when they were on disk. */
  #forget(session: SessionRecord): boolean {
    if (!this.#onDisk.delete(session)) return false
    this.#persistent--
    return true
  }

  #writeDelete(clientId: string): void {
    writeKey(this.#begin(), T.SessionDel, clientId)
    this.#subsFile.changed()
  }
}
