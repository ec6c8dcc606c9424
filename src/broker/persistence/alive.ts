/**
 * When was the broker last alive? store/alive holds the time (f64 ms since the epoch) and its CRC-32,
 * rewritten in place every `intervalMs` (a 12-byte positional write into the page cache, no fsync: it
 * survives `kill -9` and a broker crash; after a power cut it may be up to a few seconds older).
 *
 * At start the store reads it as the moment the previous run went down: sessions that were connected
 * then (a crash ends every connection without DISCONNECT) count as disconnected from it, so their
 * expiry and will delay count the time the broker was down. Nothing on the message path touches it.
 */
import {setImmediate as nextTurn} from 'node:timers/promises'
import {closeSync, openSync, readSync} from 'node:fs'
import type {Clock} from '../clock.js'
import {crc32Range} from './crc32.js'
import type {StoreFs} from './files.js'

const BYTES = 12

/** The time store/alive holds, or undefined when it is missing, short or fails its checksum. */
export function readAlive(path: string): number | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const b = Buffer.alloc(BYTES)
    if (readSync(fd, b, 0, BYTES, 0) !== BYTES) return undefined
    if (crc32Range(b, 0, 8) !== b.readUInt32BE(8)) return undefined
    const t = b.readDoubleBE(0)
    return Number.isFinite(t) && t > 0 ? t : undefined
  } finally {
    closeSync(fd)
  }
}

export class AliveMark {
  readonly path: string
  readonly #fs: StoreFs
  readonly #clock: Clock
  readonly #intervalMs: number
  readonly #buf = Buffer.alloc(BYTES)
  #fd: number | undefined
  #timer: unknown
  #writing = false
  /** A tick came while a write ran: write again when it is done. */
  #again = false
  #stopped = false

  constructor(path: string, fs: StoreFs, clock: Clock, intervalMs = 1000) {
    this.path = path
    this.#fs = fs
    this.#clock = clock
    this.#intervalMs = intervalMs
  }

  /** Writes the mark now and every interval after. A failed write is not an error of the store: the next one tries again. */
  async start(): Promise<void> {
    try {
      // r+ (not w): a crash between the truncation and the first write must not lose the last mark.
      this.#fd = await this.#fs.open(this.path, 'r+').catch(() => this.#fs.open(this.path, 'w'))
    } catch {
      return // the journal reports an unwritable directory; without a mark the next start counts from itself
    }
    await this.#write()
    this.#arm()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#clock.clearTimeout(this.#timer)
    while (this.#writing) await nextTurn()
    const fd = this.#fd
    this.#fd = undefined
    if (fd !== undefined) await this.#fs.close(fd).catch(() => {})
  }

  #arm(): void {
    if (this.#stopped) return
    this.#timer = this.#clock.setTimeout(() => {
      this.#arm()
      void this.#write()
    }, this.#intervalMs)
  }

  /** One write at a time; a tick during a write (a slow disk) writes once more after it. */
  async #write(): Promise<void> {
    if (this.#writing) {
      this.#again = true
      return
    }
    this.#writing = true
    try {
      do {
        this.#again = false
        const fd = this.#fd
        if (fd === undefined) break
        const b = this.#buf
        b.writeDoubleBE(this.#clock.now(), 0)
        b.writeUInt32BE(crc32Range(b, 0, 8), 8)
        await this.#fs.writev(fd, [b], 0).catch(() => {
          // Disk trouble shows in the journal (degraded, logged once); the mark only gets older.
        })
      } while (this.#again && !this.#stopped)
    } finally {
      this.#writing = false
    }
  }
}
