/**
 * File access of the durable store, behind one small interface (the seam tests use to inject write
 * and fsync errors), plus the helpers recovery and snapshots share: reading a store file's records in
 * bounded chunks, moving a bad part aside, atomic replace, directory fsync.
 */
import * as fs from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {HEADER_BYTES, MAX_RECORD_BYTES, type Rec} from './codec.js'
import {scanRecords} from './decode.js'
import {RecordWriter, writeHeader} from './encode.js'

/** Store file names under <dataDir>/store: journal-<gen>.log, snapshot-<gen>.bin (and its .tmp while written). */
export const JOURNAL = /^journal-(\d{1,15})\.log$/
export const SNAPSHOT = /^snapshot-(\d{1,15})\.bin$/
export const SNAPSHOT_TMP = /^snapshot-(\d{1,15})\.bin\.tmp$/
export const journalPath = (storeDir: string, gen: number): string => join(storeDir, `journal-${gen}.log`)
export const snapshotPath = (storeDir: string, gen: number): string => join(storeDir, `snapshot-${gen}.bin`)

export interface StoreFs {
  open(path: string, flags: string): Promise<number>
  /** Positional write of every buffer (short writes are the caller's to continue). */
  writev(fd: number, bufs: Buffer[], position: number): Promise<number>
  fdatasync(fd: number): Promise<void>
  fsync(fd: number): Promise<void>
  ftruncate(fd: number, len: number): Promise<void>
  close(fd: number): Promise<void>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
}

const cb =
  <A extends unknown[], R>(fn: (...args: [...A, (err: NodeJS.ErrnoException | null, r?: R) => void]) => void) =>
  (...args: A): Promise<R> =>
    new Promise((resolve, reject) => fn(...args, (err: NodeJS.ErrnoException | null, r?: R) => (err ? reject(err) : resolve(r as R))))

export const nodeFs: StoreFs = {
  open: (path, flags) => cb<[string, string, number], number>(fs.open as never)(path, flags, 0o600),
  writev: (fd, bufs, position) => cb<[number, Buffer[], number], number>(fs.writev as never)(fd, bufs, position),
  fdatasync: (fd) => cb<[number], void>(fs.fdatasync as never)(fd),
  fsync: (fd) => cb<[number], void>(fs.fsync as never)(fd),
  ftruncate: (fd, len) => cb<[number, number], void>(fs.ftruncate as never)(fd, len),
  close: (fd) => cb<[number], void>(fs.close as never)(fd),
  rename: (from, to) => cb<[string, string], void>(fs.rename as never)(from, to),
  unlink: (path) => cb<[string], void>(fs.unlink as never)(path),
}

/** Writes every byte of `bufs` at `position` (continuing short writes); returns the bytes written. */
export async function writeAll(sfs: StoreFs, fd: number, bufs: Buffer[], position: number): Promise<number> {
  let total = 0
  for (const b of bufs) total += b.length
  let done = 0
  let rest = bufs
  while (done < total) {
    const n = await sfs.writev(fd, rest, position + done)
    if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), {code: 'EIO'})
    done += n
    if (done < total) {
      // Skip what was written.
      let skip = n
      const next: Buffer[] = []
      for (const b of rest) {
        if (skip >= b.length) skip -= b.length
        else {
          next.push(skip > 0 ? b.subarray(skip) : b)
          skip = 0
        }
      }
      rest = next
    }
  }
  return total
}

/** fsync of a directory, so a created, renamed or removed entry survives a crash. */
export async function fsyncDir(sfs: StoreFs, dir: string): Promise<void> {
  const fd = await sfs.open(dir, 'r')
  try {
    await sfs.fsync(fd)
  } finally {
    await sfs.close(fd)
  }
}

/** Writes `data` to `file` atomically: a temporary file beside it, fsync, rename, fsync of the directory. */
export async function replaceFile(sfs: StoreFs, file: string, data: Buffer[]): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.tmp`)
  const fd = await sfs.open(tmp, 'w')
  try {
    await writeAll(sfs, fd, data, 0)
    await sfs.fsync(fd)
  } catch (error) {
    await sfs.close(fd).catch(() => {})
    await sfs.unlink(tmp).catch(() => {})
    throw error
  }
  await sfs.close(fd)
  await sfs.rename(tmp, file)
  await fsyncDir(sfs, dirname(file))
}

export interface FileScan {
  records: number
  /** Bytes of good records from the start. */
  goodBytes: number
  size: number
  problem?: string
}

/**
 * Reads a store file's records in bounded chunks (a file larger than one Buffer still loads) and
 * calls `each` for every good one; stops at the first bad or truncated record.
 */
export function scanFile(path: string, each: (rec: Rec) => void, chunk = 16 * 1024 * 1024): FileScan {
  const fd = fs.openSync(path, 'r')
  try {
    const size = fs.fstatSync(fd).size
    let buf = Buffer.allocUnsafe(Math.min(chunk, Math.max(size, HEADER_BYTES)))
    let filled = 0
    let fileOffset = 0 // file offset of buf[0]
    let records = 0
    let version: number | undefined
    for (;;) {
      const n = fileOffset + filled < size ? fs.readSync(fd, buf, filled, buf.length - filled, fileOffset + filled) : 0
      filled += n
      const atEnd = fileOffset + filled >= size
      // Scan only whole records unless this is the end of the file (then a partial one is a truncated tail).
      let view = buf.subarray(0, filled)
      if (!atEnd) view = buf.subarray(0, wholeRecords(buf, filled))
      const scan = scanRecords(view, each, version)
      version = scan.version
      records += scan.records
      if (scan.problem !== undefined && (atEnd || scan.goodBytes < view.length)) {
        return {records, goodBytes: fileOffset + scan.goodBytes, size, problem: scan.problem}
      }
      if (atEnd) return {records, goodBytes: fileOffset + scan.goodBytes, size}
      // Keep the partial record at the end; grow the buffer when one record is larger than it.
      const keep = filled - scan.goodBytes
      const need = keep >= HEADER_BYTES ? HEADER_BYTES + buf.readUInt32BE(scan.goodBytes) : 0
      if (need > MAX_RECORD_BYTES + HEADER_BYTES) {
        return {records, goodBytes: fileOffset + scan.goodBytes, size, problem: `impossible record length ${need - HEADER_BYTES}`}
      }
      // Always a new buffer: decoded payloads are views into the one just scanned (codec.ts bytes()).
      const next = Buffer.allocUnsafe(Math.max(need, chunk, keep))
      buf.copy(next, 0, scan.goodBytes, filled)
      buf = next
      fileOffset += scan.goodBytes
      filled = keep
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** Length of the prefix of buf[0, filled) made of complete records (by their length fields only). */
function wholeRecords(buf: Buffer, filled: number): number {
  let pos = 0
  while (filled - pos >= HEADER_BYTES) {
    const len = buf.readUInt32BE(pos)
    if (len === 0 || len > MAX_RECORD_BYTES) return pos + HEADER_BYTES // let the scan report it
    if (pos + HEADER_BYTES + len > filled) break
    pos += HEADER_BYTES + len
  }
  return pos
}

/**
 * Moves bytes [from, end) of a store file into `<file>.corrupt-<stamp>` beside it and truncates the
 * file to `from`: the bad part is kept for a person to look at, never silently dropped.
 */
export function moveAside(path: string, from: number, stamp: string): string {
  let aside = `${path}.corrupt-${stamp}`
  for (let n = 1; fs.existsSync(aside); n++) aside = `${path}.corrupt-${stamp}-${n}`
  const fd = fs.openSync(path, 'r+')
  try {
    const size = fs.fstatSync(fd).size
    const out = fs.openSync(aside, 'wx', 0o600)
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024)
      for (let pos = from; pos < size; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos)
        if (n <= 0) break
        fs.writeSync(out, buf, 0, n)
        pos += n
      }
      fs.fsyncSync(out)
    } finally {
      fs.closeSync(out)
    }
    fs.ftruncateSync(fd, from)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  const dfd = fs.openSync(dirname(path), 'r')
  try {
    fs.fsyncSync(dfd)
  } finally {
    fs.closeSync(dfd)
  }
  return aside
}

/** A file-name-safe UTC stamp: 20261203T092319Z. */
export function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
}

/** An open journal file and its size. */
export interface JournalFile {
  path: string
  fd: number
  size: number
}

/** A new journal-<gen>.log holding only its header record, synced with its directory entry. */
export async function createJournal(sfs: StoreFs, storeDir: string, gen: number): Promise<JournalFile> {
  const path = journalPath(storeDir, gen)
  const fd = await sfs.open(path, 'w')
  try {
    const w = new RecordWriter(64)
    writeHeader(w, 0, gen)
    const size = await writeAll(sfs, fd, w.take(), 0)
    await sfs.fdatasync(fd)
    await fsyncDir(sfs, storeDir)
    return {path, fd, size}
  } catch (error) {
    await sfs.close(fd).catch(() => {})
    throw error
  }
}
