/**
 * Compaction's snapshot writer directly (snapshot.ts): what goes into snapshot-<gen>.bin (persistent
 * sessions with their children, will-only clean sessions as a header, retained messages but $SYS and
 * expired ones), written in chunks, atomically (temporary file, rename), after which older files go;
 * a store that closes or a failed write leaves the older files and no snapshot.
 */
import {readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {T} from '../../../src/broker/persistence/codec.js'
import {nodeFs, scanFile, type StoreFs} from '../../../src/broker/persistence/files.js'
import {loadStore} from '../../../src/broker/persistence/load.js'
import {MessageRefs} from '../../../src/broker/persistence/refs.js'
import {newSession, pushQueued} from '../../../src/broker/persistence/session-record.js'
import {type SnapshotSource, writeSnapshot} from '../../../src/broker/persistence/snapshot.js'
import type {SessionRecord} from '../../../src/broker/persistence/store.js'
import type {RetainedMessage} from '../../../src/broker/retained.js'
import {ManualClock} from '../../helpers/clock.js'
import {cleanupStores, delivery, msg, opts, tempDir} from './helpers.js'

cleanupStores()

const NOW = Date.UTC(2026, 11, 3, 12)
const will = {topic: 'status/c', payload: Buffer.from('offline'), qos: 1 as const, retain: true, delay: 0}

function source(o: {sessions?: SessionRecord[]; retained?: RetainedMessage[]; fs?: StoreFs; closed?: () => boolean; willOnly?: string[]} = {}) {
  const storeDir = tempDir()
  const sessions = new Map((o.sessions ?? []).map((s) => [s.clientId, s]))
  const src: SnapshotSource = {
    storeDir,
    fs: o.fs ?? nodeFs,
    clock: new ManualClock(NOW),
    log: memoryLogger('debug'),
    refs: new MessageRefs(),
    fileSizes: new Map(),
    sessions,
    retained: () => o.retained ?? [],
    onDisk: (s) => s.expiryInterval > 0,
    willOnly: (s) => (o.willOnly ?? []).includes(s.clientId),
    closed: o.closed ?? (() => false),
  }
  return {src, sessions, storeDir}
}

function persistent(id: string, queued: string[] = []): SessionRecord {
  const s = newSession(id, 3600)
  s.disconnectedAt = NOW - 1000
  s.subscriptions.set(`${id}/#`, opts(1))
  for (const p of queued) pushQueued(s, delivery(msg(`${id}/t`, p)))
  return s
}

/** Loads what the store directory holds. */
function reload(storeDir: string) {
  const log = memoryLogger('info')
  const {state} = loadStore(storeDir, log, new ManualClock(NOW), new Map())
  return {sessions: new Map([...state.finish(NOW, [])].map((s) => [s.clientId, s])), retained: state.retained, lines: log.lines}
}

describe('writeSnapshot', () => {
  it('persistent sessions with their children, will-only headers, live retained messages; older files removed', async () => {
    const clean = newSession('clean', 0)
    const willOnly = newSession('device', 0, will)
    const {src, storeDir} = source({
      sessions: [persistent('a', ['1', '2']), clean, willOnly, persistent('b')],
      willOnly: ['device'],
      retained: [
        {topic: 'r/live', payload: Buffer.from('x'), qos: 1},
        {topic: 'r/expired', payload: Buffer.from('y'), qos: 0, expiresAt: NOW},
        {topic: 'r/later', payload: Buffer.from('z'), qos: 0, expiresAt: NOW + 1},
        {topic: '$SYS/broker/uptime', payload: Buffer.from('9'), qos: 0},
      ],
    })
    for (const old of ['journal-1.log', 'snapshot-1.bin', 'journal-2.log']) writeFileSync(join(storeDir, old), 'old')
    src.fileSizes.set(join(storeDir, 'journal-1.log'), 3)
    writeFileSync(join(storeDir, 'journal-3.log'), 'kept: the journal of this generation')
    await writeSnapshot(src, 3)
    expect(readdirSync(storeDir).sort()).toEqual(['journal-3.log', 'snapshot-3.bin'])
    expect(src.fileSizes.get(join(storeDir, 'snapshot-3.bin'))).toBe(statSync(join(storeDir, 'snapshot-3.bin')).size)
    expect(src.fileSizes.has(join(storeDir, 'journal-1.log'))).toBe(false)

    const loaded = reload(storeDir)
    expect([...loaded.sessions.keys()].sort()).toEqual(['a', 'b', 'device'])
    expect(loaded.sessions.get('a')!.queue!.map((d) => d.msg.payload.toString())).toEqual(['1', '2'])
    expect([...loaded.sessions.get('a')!.subscriptions.keys()]).toEqual(['a/#'])
    expect(loaded.sessions.get('device')).toMatchObject({expiryInterval: 0})
    expect(loaded.sessions.get('device')!.subscriptions.size).toBe(0)
    expect([...loaded.retained.keys()].sort()).toEqual(['r/later', 'r/live'])
  })

  it('the file is complete: a header of its generation first, an end record with the count last', async () => {
    const {src, storeDir} = source({sessions: [persistent('a', ['m'])]})
    await writeSnapshot(src, 5)
    const types: number[] = []
    const scan = scanFile(join(storeDir, 'snapshot-5.bin'), (r) => {
      types.push(r.t)
      if (r.t === T.Header) expect(r).toMatchObject({kind: 1, gen: 5})
      if (r.t === T.SnapEnd) expect(r.records).toBe(types.length - 1)
    })
    expect(scan.problem).toBeUndefined()
    expect(types).toEqual([T.Header, T.SessionNew, T.Sub, T.Msg, T.Queue, T.SnapEnd])
  })

  it('a session gone or replaced while the snapshot is written is left to the new journal', async () => {
    const a = persistent('a')
    const b = persistent('b')
    const {src, sessions, storeDir} = source({
      sessions: [a, b],
      fs: {...nodeFs, open: (p, f) => {
        sessions.delete('a')
        sessions.set('b', persistent('b'))
        return nodeFs.open(p, f)
      }},
    })
    await writeSnapshot(src, 2)
    expect(reload(storeDir).sessions.size).toBe(0)
  })

  it('a state larger than one chunk is written in several writes and loads whole', async () => {
    const big = Buffer.alloc(1024, 7).toString()
    const many = Array.from({length: 3000}, (_, i) => persistent(`s${i}`, [big]))
    let writes = 0
    const {src, storeDir} = source({sessions: many, fs: {...nodeFs, writev: (fd, bufs, pos) => (writes++, nodeFs.writev(fd, bufs, pos))}})
    await writeSnapshot(src, 1)
    expect(writes).toBeGreaterThan(2)
    const loaded = reload(storeDir)
    expect(loaded.sessions.size).toBe(3000)
    expect(loaded.sessions.get('s2999')!.queue![0].msg.payload.length).toBe(1024)
    expect(src.fileSizes.get(join(storeDir, 'snapshot-1.bin'))).toBe(statSync(join(storeDir, 'snapshot-1.bin')).size)
  })

  it('the store closing meanwhile abandons it: no snapshot, no temporary file, older files kept', async () => {
    let closed = false
    const many = Array.from({length: 1500}, (_, i) => persistent(`s${i}`, [Buffer.alloc(1024).toString()]))
    const {src, storeDir} = source({sessions: many, closed: () => closed, fs: {...nodeFs, writev: (fd, bufs, pos) => ((closed = true), nodeFs.writev(fd, bufs, pos))}})
    writeFileSync(join(storeDir, 'journal-1.log'), 'old')
    await expect(writeSnapshot(src, 2)).rejects.toMatchObject({code: 'ECLOSED'})
    expect(readdirSync(storeDir)).toEqual(['journal-1.log'])
  })

  it('a failed fdatasync: rejected, no snapshot, no temporary file, older files kept', async () => {
    const {src, storeDir} = source({sessions: [persistent('a')], fs: {...nodeFs, fdatasync: async () => { throw Object.assign(new Error('io'), {code: 'EIO'}) }}})
    writeFileSync(join(storeDir, 'snapshot-1.bin'), 'old')
    await expect(writeSnapshot(src, 2)).rejects.toMatchObject({code: 'EIO'})
    expect(readdirSync(storeDir)).toEqual(['snapshot-1.bin'])
    expect(src.fileSizes.size).toBe(0)
  })
})
