/**
 * The durable store's journal writer: group commit, sync modes, rotation and disk-error recovery.
 *
 * Each change is encoded synchronously into one buffer and counted (seq); a single writer ("pump")
 * writes everything appended meanwhile with one positional writev and one fdatasync, then releases
 * every whenDurable() waiter up to that count (group commit: the cost of an fsync is per batch, not
 * per message). sync "interval" skips the per-batch fdatasync: a waiter is released once the bytes
 * are in the kernel (they survive `kill -9`), and an fdatasync runs at least every syncIntervalMs.
 *
 * Rotation: when the journal has grown by compactBytes, a new journal file starts and the owner's
 * snapshot callback writes the state beside it in the background (snapshot.ts).
 *
 * Disk full or unwritable: the waiters of what could not be written are told the error, `degraded`
 * turns true, one log line per episode; every retryMs it rotates again, the snapshot writing the
 * memory state (the truth) into a new generation; once that is on disk it is not degraded any more.
 */
import {setImmediate as nextTurn} from 'node:timers/promises'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import {RecordWriter} from './encode.js'
import {createJournal, type JournalFile, type StoreFs, writeAll} from './files.js'
import {LatencyRing, type SyncMode} from './figures.js'
import {Waiters} from './waiters.js'

export interface JournalOptions {
  /** Sizes of the store files other than the open journal (the journal sets its old files'). */
  fileSizes: Map<string, number>
  storeDir: string
  sync: SyncMode
  syncIntervalMs: number
  compactBytes: number
  retryMs: number
  log: Logger
  fs: StoreFs
  clock: Clock
  /** Writes the state into snapshot-<gen>.bin beside the journal of `gen` just opened, then removes the files it replaces. */
  snapshot(gen: number): Promise<void>
}

export class Journal {
  readonly #o: JournalOptions
  readonly #w = new RecordWriter()
  readonly #waiters = new Waiters()
  #seq = 0
  /** Every change up to this count is durable. */
  #durable = 0
  /** Every change up to this count is in the journal (durable unless a recovery snapshot is pending). */
  #written = 0
  /** Changes above this count wait for the snapshot that is being written (recovery). */
  #barrier = Infinity
  /** The count the last #writeBatch covered. */
  #seqWritten = 0

  #file: JournalFile | undefined
  #gen = 0
  /** Journal bytes written since the current snapshot base (compaction trigger). */
  #sinceSnapshot = 0

  #pumping = false
  #kickScheduled = false
  #rotate: 'no' | 'compact' | 'recover' = 'no'
  #snapshotting: Promise<void> | undefined
  #compactBackoffUntil = 0
  #lastSync = 0
  #unsynced = false
  #syncTimer: unknown
  #retryTimer: unknown

  #degraded = false
  /** Failed writes since start (a recovery counts only if none happened while its snapshot was written). */
  #failures = 0
  /** A recovery snapshot is being written: the new journal is written, its waiters held. */
  #recovering = false
  #degradedAt = 0
  #started = false
  #closed = false

  fsyncs = 0
  batches = 0
  compactions = 0
  episodes = 0
  /** fdatasync latency over the last 1,024 calls. */
  readonly latency = new LatencyRing(1024)

  constructor(options: JournalOptions) {
    this.#o = options
  }

  get seq(): number {
    return this.#seq
  }

  /** The generation of the open journal (message bodies are written once per generation). */
  get gen(): number {
    return this.#gen
  }

  get degraded(): boolean {
    return this.#degraded
  }

  get closed(): boolean {
    return this.#closed
  }

  /** One change: counted, and its record goes into the next batch. */
  begin(): RecordWriter {
    this.#seq++
    this.#kick()
    return this.#w
  }

  /** A record nothing waits for (a clean session's will): it goes with the next batch, uncounted. */
  append(): RecordWriter {
    this.#kick()
    return this.#w
  }

  whenDurable(seq: number, cb: (err?: Error) => void): void {
    if (seq <= this.#durable) return cb()
    // Degraded, or closed and done (nothing is written any more): it cannot become durable.
    if (this.#degraded || (this.#closed && this.#file === undefined)) return cb(degradedError())
    this.#waiters.add(seq, cb)
  }

  /** Opens journal-<gen>.log after loading; journal bytes since the snapshot base decide the first compaction. */
  async start(gen: number, sinceSnapshot: number, compactNow: boolean): Promise<void> {
    this.#file = await createJournal(this.#o.fs, this.#o.storeDir, gen)
    this.#gen = gen
    this.#sinceSnapshot = sinceSnapshot
    this.#started = true
    if (compactNow || sinceSnapshot > this.#o.compactBytes / 2) this.#requestRotate('compact')
    this.#kick()
  }

  async close(): Promise<void> {
    if (this.#closed || !this.#started) return
    this.#closed = true
    const {clock} = this.#o
    clock.clearTimeout(this.#syncTimer)
    clock.clearTimeout(this.#retryTimer)
    // The last batch and an fdatasync whatever the sync mode; an unfinished snapshot is abandoned
    // (its temporary file is removed at the next start; the journal has everything).
    this.#rotate = 'no'
    this.#unsynced = this.#unsynced || this.#o.sync === 'interval'
    while (this.#pumping || this.#kickScheduled) await nextTurn()
    await this.#pump(true)
    await this.#snapshotting?.catch(() => {})
    const file = this.#file
    this.#file = undefined
    if (file !== undefined) await this.#o.fs.close(file.fd).catch(() => {})
    // Whoever still waits (a failed last write) hears it now.
    this.#waiters.failAll(degradedError())
  }

  /** Starts a compaction now and waits for it; refused while the store is closed or cannot write. */
  async compact(): Promise<void> {
    if (this.#closed || !this.#started) throw new Error('the store is closed')
    if (this.#degraded) throw degradedError()
    const before = this.compactions
    this.#requestRotate('compact')
    this.#kick()
    while (!this.#degraded && (this.#rotate !== 'no' || this.#pumping || this.#kickScheduled)) await nextTurn()
    if (this.#degraded) throw degradedError() // a write failed meanwhile: no compaction until a recovery
    await this.#snapshotting
    if (this.compactions === before) throw new Error('the snapshot could not be written (see the log)')
  }

  bytesOnDisk(): number {
    let bytes = this.#file?.size ?? 0
    for (const n of this.#o.fileSizes.values()) bytes += n
    return bytes
  }

  #kick(): void {
    if (this.#pumping || this.#kickScheduled || !this.#started || this.#closed) return
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
          if (this.#unsynced && (final || this.#o.clock.now() - this.#lastSync >= this.#o.syncIntervalMs)) await this.#datasync()
          break
        }
        const n = await this.#writeBatch()
        this.#sinceSnapshot += n
        this.batches++
        if (this.#o.sync === 'always') await this.#datasync()
        else {
          this.#unsynced = true
          this.#armSyncTimer()
        }
        this.#advance(this.#seqWritten)
        if (this.#sinceSnapshot >= this.#o.compactBytes && this.#o.clock.now() >= this.#compactBackoffUntil) this.#requestRotate('compact')
      }
    } catch (error) {
      this.#fail(error as NodeJS.ErrnoException)
    } finally {
      this.#pumping = false
    }
    if (!final && !this.#degraded && (this.#w.pending > 0 || (this.#rotate !== 'no' && this.#snapshotting === undefined))) this.#kick()
  }

  /** Everything appended so far, into the open journal; returns the bytes written. */
  async #writeBatch(): Promise<number> {
    const file = this.#file!
    const bufs = this.#w.take()
    this.#seqWritten = this.#seq
    const n = await writeAll(this.#o.fs, file.fd, bufs, file.size)
    file.size += n
    return n
  }

  async #datasync(): Promise<void> {
    const file = this.#file!
    const t0 = performance.now()
    await this.#o.fs.fdatasync(file.fd)
    this.latency.add(performance.now() - t0)
    this.fsyncs++
    this.#unsynced = false
    this.#lastSync = this.#o.clock.now()
  }

  #armSyncTimer(): void {
    if (this.#syncTimer !== undefined) return
    this.#syncTimer = this.#o.clock.setTimeout(() => {
      this.#syncTimer = undefined
      if (this.#unsynced) {
        this.#lastSync = 0 // due now
        this.#kick()
      }
    }, this.#o.syncIntervalMs)
  }

  /** Everything up to `seq` is in the journal: release the waiters (not past a recovery barrier). */
  #advance(seq: number): void {
    if (seq > this.#written) this.#written = seq
    const upTo = Math.min(this.#written, this.#barrier)
    if (upTo <= this.#durable) return
    this.#durable = upTo
    this.#waiters.release(upTo)
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
    this.#waiters.failAll(err)
    const {clock, log, storeDir, retryMs} = this.#o
    if (first) {
      this.episodes++
      this.#degradedAt = clock.now()
      log.error(
        `Store: cannot write in ${storeDir} (${error.code ?? ''} ${error.message}); refusing new QoS 1/2 work that needs the disk until it can write again, QoS 0 keeps flowing; retrying every ${retryMs} ms`,
      )
    }
    if (!this.#closed) {
      clock.clearTimeout(this.#retryTimer)
      this.#retryTimer = clock.setTimeout(() => {
        this.#retryTimer = undefined
        if (this.#closed || !this.#degraded) return
        this.#requestRotate('recover')
        this.#kick()
      }, retryMs)
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
      await this.#writeBatch()
      await this.#datasync()
      this.#advance(this.#seqWritten)
    } else if (!recovering && this.#unsynced) await this.#datasync()
    const old = this.#file
    const gen = this.#gen + 1
    if (recovering) this.#w.take() // the memory state goes into the snapshot instead
    this.#file = await createJournal(this.#o.fs, this.#o.storeDir, gen)
    if (old !== undefined) {
      this.#o.fileSizes.set(old.path, old.size)
      await this.#o.fs.close(old.fd).catch(() => {})
    }
    this.#gen = gen
    this.#sinceSnapshot = 0
    if (recovering) {
      // Changes from here on go to the new journal; they are durable once the snapshot is too.
      this.#barrier = this.#seq
      this.#recovering = true
    }
    const failuresBefore = this.#failures
    this.#snapshotting = this.#o.snapshot(gen).then(
      () => {
        this.#snapshotting = undefined
        this.compactions++
        // A journal write failed while the snapshot was written: still degraded, the next retry decides.
        if (recovering && this.#failures === failuresBefore) {
          this.#barrier = Infinity
          this.#degraded = false
          const secs = ((this.#o.clock.now() - this.#degradedAt) / 1000).toFixed(1)
          this.#o.log.warn(`Store: writing to ${this.#o.storeDir} again after ${secs} s; accepting QoS 1/2 work that needs the disk again`)
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
          this.#compactBackoffUntil = this.#o.clock.now() + 60_000
          this.#o.log.warn(`Store: snapshot ${gen} could not be written (${error.code ?? error.message}); the journal keeps everything, next try in 60 s`)
        }
      },
    )
  }
}

export function degradedError(): Error {
  return Object.assign(new Error('the store cannot write to disk'), {code: 'ESTORE_DEGRADED'})
}
