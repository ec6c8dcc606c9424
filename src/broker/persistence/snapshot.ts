/**
 * Compaction's second half: the state, a chunk at a time between other work, into
 * snapshot-<gen>.bin beside the journal of `gen` that takes every change from the rotation on (no
 * full-state stall and no copy of the state); then the older files go. Correct because every record
 * is an absolute change of one key (codec.ts): the new journal replayed over a snapshot that caught
 * each key at some moment after the rotation gives the exact state.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {RetainedMessage} from '../retained.js'
import {T} from './codec.js'
import {RecordWriter, writeHeader, writeRetain, writeSession, writeSnapEnd} from './encode.js'
import {fsyncDir, JOURNAL, SNAPSHOT, snapshotPath, type StoreFs, writeAll} from './files.js'
import type {MessageRefs} from './refs.js'
import {isSys} from './retained-journal.js'
import type {SessionRecord} from './store.js'

const CHUNK_BYTES = 1024 * 1024

export interface SnapshotSource {
  storeDir: string
  fs: StoreFs
  clock: Clock
  log: Logger
  refs: MessageRefs
  /** Sizes of the store files (the new snapshot's is set, the removed files' deleted). */
  fileSizes: Map<string, number>
  sessions: ReadonlyMap<string, SessionRecord>
  retained(): Iterable<RetainedMessage>
  /** Is the session's state kept on disk (expiry > 0)? */
  onDisk(s: SessionRecord): boolean
  /** A clean session whose header (with its connection's will) is kept, nothing else. */
  willOnly(s: SessionRecord): boolean
  /** The store is closing: the snapshot is abandoned (the journal has everything). */
  closed(): boolean
}

export async function writeSnapshot(src: SnapshotSource, gen: number): Promise<void> {
  const sessions = [...src.sessions.values()]
  const retained = [...src.retained()]
  const {fs, storeDir} = src
  const path = snapshotPath(storeDir, gen)
  const tmp = `${path}.tmp`
  const fd = await fs.open(tmp, 'w')
  let pos = 0
  let ok = false
  const stopIfClosed = () => {
    if (src.closed()) throw Object.assign(new Error('store closed'), {code: 'ECLOSED'})
  }
  try {
    const w = new RecordWriter(CHUNK_BYTES)
    const written = new Set<number>()
    writeHeader(w, 1, gen)
    const write = async () => {
      pos += await writeAll(fs, fd, w.take(), pos)
    }
    for (const s of sessions) {
      stopIfClosed()
      // Gone or replaced since the rotation: the new journal has that.
      if (src.sessions.get(s.clientId) !== s) continue
      if (src.willOnly(s)) writeSession(w, T.SessionNew, s)
      if (!src.onDisk(s)) continue
      writeSession(w, T.SessionNew, s)
      src.refs.writeChildren(w, s, gen, written)
      if (w.pending >= CHUNK_BYTES) await write()
    }
    const now = src.clock.now()
    for (const r of retained) {
      if (isSys(r.topic)) continue
      if (r.expiresAt !== undefined && r.expiresAt !== 0 && r.expiresAt <= now) continue
      writeRetain(w, r.topic, r.payload, r.qos, r.properties, r.expiresAt ?? 0, (r as {raw?: Buffer}).raw)
      if (w.pending >= CHUNK_BYTES) {
        stopIfClosed()
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
  await fsyncDir(fs, storeDir)
  src.fileSizes.set(path, pos)
  // The base is complete: older snapshots and journals are not needed any more.
  for (const name of readdirSync(storeDir)) {
    const m = JOURNAL.exec(name) ?? SNAPSHOT.exec(name)
    if (m !== null && Number(m[1]) < gen) {
      const p = join(storeDir, name)
      await fs.unlink(p).catch(() => {})
      src.fileSizes.delete(p)
    }
  }
  await fsyncDir(fs, storeDir)
  src.log.debug(`Store: snapshot ${gen} written (${sessions.length} sessions, ${retained.length} retained, ${pos} bytes)`)
}
