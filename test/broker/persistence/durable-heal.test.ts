/**
 * A damaged snapshot is rewritten at the start that finds it (load.ts reports it, durable.ts compacts
 * at once): what was kept is on disk in a complete snapshot again, so the next start neither repeats
 * the error line nor depends on the damaged file.
 */
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {T} from '../../../src/broker/persistence/codec.js'
import {RecordWriter, writeHeader, writeSession, writeSnapEnd} from '../../../src/broker/persistence/encode.js'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupStores, openStore, tempDir} from './helpers.js'

cleanupStores()

function records(write: (w: RecordWriter) => void): Buffer {
  const w = new RecordWriter(64)
  write(w)
  return Buffer.concat(w.take())
}

/** A store directory written by hand: a snapshot of s0..s19 (its last `cut` bytes gone) and a journal adding 'later'. */
function storeFiles(cut: number): string {
  const dir = tempDir()
  const storeDir = join(dir, 'store')
  mkdirSync(storeDir)
  const snapshot = records((w) => {
    writeHeader(w, 1, 1)
    for (let i = 0; i < 20; i++) writeSession(w, T.SessionNew, {clientId: `s${i}`, expiryInterval: 60, disconnectedAt: 1, willAt: 0})
    writeSnapEnd(w, w.records)
  })
  writeFileSync(join(storeDir, 'snapshot-1.bin'), snapshot.subarray(0, snapshot.length - cut))
  writeFileSync(join(storeDir, 'journal-1.log'), records((w) => {
    writeHeader(w, 0, 1)
    writeSession(w, T.SessionNew, {clientId: 'later', expiryInterval: 60, disconnectedAt: 1, willAt: 0})
  }))
  return dir
}

describe('DurableStore: healing a damaged snapshot', () => {
  it('a snapshot cut short is rewritten at start; the next start loads cleanly with the same sessions', async () => {
    const dir = storeFiles(30) // the end record and part of s19 gone
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(log.lines.filter((l) => l.includes('is damaged'))).toHaveLength(1)
    const kept = [...again.sessions()].map((s) => s.clientId).sort()
    expect(kept).toEqual([...Array.from({length: 19}, (_, i) => `s${i}`), 'later'].sort()) // s19 was cut
    await waitFor(() => again.figures().compactions === 1, 10_000, 'the compaction at start')
    await again.close()

    const log3 = memoryLogger('info')
    const third = await openStore({dir, logger: log3})
    expect(log3.lines.filter((l) => l.includes('damaged'))).toEqual([])
    expect([...third.sessions()].map((s) => s.clientId).sort()).toEqual(kept)
  })

  it('a complete snapshot: no compaction at start (the journal opened at start stays the only new one)', async () => {
    const dir = storeFiles(0)
    const store = await openStore({dir})
    store.createSession('b', 60)
    await store.flushed() // a compaction would have rotated to journal-3.log before this batch
    expect(store.sessionCount).toBe(22)
    expect(existsSync(join(dir, 'store', 'journal-2.log'))).toBe(true)
    expect(existsSync(join(dir, 'store', 'journal-3.log'))).toBe(false)
  })
})
