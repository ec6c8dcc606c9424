/**
 * Loading a store directory directly (load.ts): which files are read (the newest snapshot, the
 * journals from its generation on), which are removed (journals the snapshot covers, unfinished
 * snapshots), what is counted, and a damaged or misnamed file: kept up to the damage, the rest moved
 * aside, one line naming the file, the byte and why.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {FORMAT_VERSION, MAGIC, T} from '../../../src/broker/persistence/codec.js'
import {RecordWriter, writeHeader, writeKey, writeRetain, writeSession, writeSnapEnd, writeSub} from '../../../src/broker/persistence/encode.js'
import {loadStore} from '../../../src/broker/persistence/load.js'
import {ManualClock} from '../../helpers/clock.js'
import {cleanupStores, opts, tempDir} from './helpers.js'

cleanupStores()

function bytes(write: (w: RecordWriter) => void): Buffer {
  const w = new RecordWriter(64)
  write(w)
  return Buffer.concat(w.take())
}
const session = (w: RecordWriter, id: string) => writeSession(w, T.SessionNew, {clientId: id, expiryInterval: 60, disconnectedAt: 1, willAt: 0})
const journal = (gen: number, ...ids: string[]) => bytes((w) => {
  writeHeader(w, 0, gen)
  for (const id of ids) session(w, id)
})
const snapshot = (gen: number, ...ids: string[]) => bytes((w) => {
  writeHeader(w, 1, gen)
  for (const id of ids) session(w, id)
  writeSnapEnd(w, w.records)
})

function storeDir(files: Record<string, Buffer | string>): string {
  const dir = join(tempDir(), 'store')
  mkdirSync(dir)
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data)
  return dir
}

function run(dir: string) {
  const log = memoryLogger('info')
  const sizes = new Map<string, number>()
  const loaded = loadStore(dir, log, new ManualClock(Date.UTC(2026, 11, 3, 10, 15)), sizes)
  return {loaded, ids: [...loaded.state.sessions.keys()].sort(), lines: log.lines, sizes}
}

describe('loadStore', () => {
  it('an empty directory: nothing loaded, generation 0, nothing logged', () => {
    const {loaded, ids, lines} = run(storeDir({}))
    expect(ids).toEqual([])
    expect(loaded).toMatchObject({maxGen: 0, journalBytes: 0, journals: 0, files: 0})
    expect(lines).toEqual([])
  })

  it('the newest snapshot and the journals from its generation on; older files removed; other names left alone', () => {
    const j3 = journal(3, 'j3')
    const j4 = journal(4, 'j4')
    const dir = storeDir({
      'snapshot-1.bin': snapshot(1, 'old'),
      'journal-2.log': journal(2, 'stale'),
      'snapshot-3.bin': snapshot(3, 's3'),
      'journal-3.log': j3,
      'journal-4.log': j4,
      'journal-x.log': 'not a generation',
      'journal-5.log.corrupt-20261203T000000Z': 'kept for a person',
      alive: 'x',
    })
    const {loaded, ids, sizes} = run(dir)
    expect(ids).toEqual(['j3', 'j4', 's3'])
    expect(loaded).toMatchObject({maxGen: 4, journals: 2, files: 5, journalBytes: j3.length + j4.length, damaged: false})
    expect(readdirSync(dir).sort()).toEqual(['alive', 'journal-3.log', 'journal-4.log', 'journal-5.log.corrupt-20261203T000000Z', 'journal-x.log', 'snapshot-1.bin', 'snapshot-3.bin'])
    expect(sizes.get(join(dir, 'journal-4.log'))).toBe(j4.length)
    expect(sizes.get(join(dir, 'snapshot-3.bin'))).toBe(statSync(join(dir, 'snapshot-3.bin')).size)
  })

  it('journals are replayed in generation order, numerically (journal-10 after journal-9)', () => {
    const del = bytes((w) => {
      writeHeader(w, 0, 10)
      writeKey(w, T.SessionDel, 'a')
    })
    expect(run(storeDir({'journal-9.log': journal(9, 'a', 'b'), 'journal-10.log': del})).ids).toEqual(['b'])
  })

  it('an unfinished snapshot is removed with one info line; its generation still counts', () => {
    const dir = storeDir({'journal-6.log': journal(6, 'a'), 'snapshot-7.bin.tmp': snapshot(7, 'half')})
    const {loaded, ids, lines} = run(dir)
    expect(ids).toEqual(['a'])
    expect(loaded.maxGen).toBe(7)
    expect(existsSync(join(dir, 'snapshot-7.bin.tmp'))).toBe(false)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/INFO.*removing snapshot-7\.bin\.tmp, a snapshot that was not finished/)
  })

  it('a journal whose header is not its own (another generation, or a snapshot) is damaged from byte 0: moved aside whole', () => {
    const wrongGen = journal(8, 'x')
    const dir = storeDir({'journal-9.log': wrongGen, 'journal-10.log': snapshot(10, 'y'), 'journal-11.log': journal(11, 'ok')})
    const {ids, lines} = run(dir)
    expect(ids).toEqual(['ok'])
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(`journal-9.log is damaged at byte 0 of ${wrongGen.length} (not a journal of this generation)`)
    expect(lines[1]).toContain('journal-10.log is damaged at byte 0')
    expect(statSync(join(dir, 'journal-9.log')).size).toBe(0)
    expect(readFileSync(join(dir, 'journal-9.log.corrupt-20261203T101500Z'))).toEqual(wrongGen)
  })

  it('a truncated journal tail: the changes before it are kept and counted, the rest moved aside', () => {
    const whole = journal(2, 'a', 'b', 'c')
    const cut = whole.subarray(0, whole.length - 3)
    const dir = storeDir({'journal-2.log': cut})
    const {ids, lines, loaded} = run(dir)
    expect(ids).toEqual(['a', 'b'])
    const good = statSync(join(dir, 'journal-2.log')).size
    expect(loaded.journalBytes).toBe(good)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`ERROR: Store: .*journal-2\\.log is damaged at byte ${good} of ${cut.length} \\(truncated record .*\\): kept the 2 changes before it, moved the other ${cut.length - good} bytes to .*journal-2\\.log\\.corrupt-20261203T101500Z; starting with what was kept`))
  })

  it('a snapshot without its end record: what it has is kept and counted (not its header), one line says so, the journal applies on top', () => {
    const full = snapshot(4, 's1', 's2')
    const endLess = bytes((w) => {
      writeHeader(w, 1, 4)
      session(w, 's1')
      session(w, 's2')
    })
    expect(endLess.length).toBeLessThan(full.length)
    const dir = storeDir({'snapshot-4.bin': endLess, 'journal-4.log': journal(4, 'j')})
    const {ids, lines, loaded} = run(dir)
    expect(ids).toEqual(['j', 's1', 's2'])
    expect(loaded.damaged).toBe(true) // written into a fresh snapshot at once (durable-heal.test.ts)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/snapshot-4\.bin is damaged at byte \d+ of \d+ \(no end record\): kept the 2 records before it; starting with what was kept and the journal/)
    expect(readdirSync(dir).some((n) => n.includes('corrupt'))).toBe(false) // nothing after the good bytes to move
  })

  it('a newest snapshot that is not one at all (foreign bytes, wrong header) is set aside whole; the store loads from what it claimed to replace', () => {
    const dir = storeDir({'snapshot-1.bin': snapshot(1, 's1'), 'journal-1.log': journal(1, 'j1'), 'journal-2.log': journal(2, 'j2'), 'snapshot-3.bin': 'not a snapshot at all', 'snapshot-4.bin': journal(4)})
    const {ids, lines, loaded} = run(dir)
    expect(ids).toEqual(['j1', 'j2', 's1'])
    expect(loaded).toMatchObject({maxGen: 4, damaged: true})
    expect(readdirSync(dir).sort()).toEqual(['journal-1.log', 'journal-2.log', 'snapshot-1.bin', 'snapshot-3.bin.corrupt-20261203T101500Z', 'snapshot-4.bin.corrupt-20261203T101500Z'])
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(`ERROR: Store: ${join(dir, 'snapshot-4.bin')} is damaged, not a snapshot of generation 4 (not a snapshot of this generation): moved to ${join(dir, 'snapshot-4.bin')}.corrupt-20261203T101500Z; loading from the files before it`)
    expect(lines[1]).toMatch(/snapshot-3\.bin is damaged, not a snapshot of generation 3 \(.*\): moved to/)
    expect(run(dir).lines).toEqual([]) // the next start finds nothing wrong
  })

  it('records after the end of a complete snapshot are ignored with one line; the snapshot is kept, also at the next start', () => {
    const complete = snapshot(2, 's1', 's2')
    const dir = storeDir({'snapshot-2.bin': Buffer.concat([complete, journal(2, 'after-the-end')]), 'journal-1.log': journal(1, 'old'), 'journal-2.log': journal(2, 'j')})
    const first = run(dir)
    expect(first.ids).toEqual(['j', 's1', 's2'])
    expect(first.loaded.damaged).toBe(true) // rewritten clean at start
    expect(first.lines).toHaveLength(1)
    expect(first.lines[0]).toMatch(/ERROR: Store: .*snapshot-2\.bin has 2 records after its end record: ignored, the snapshot before them is complete/)
    expect(run(dir).ids).toEqual(['j', 's1', 's2'])
    const one = storeDir({'snapshot-2.bin': Buffer.concat([complete, bytes((w) => writeKey(w, T.SessionDel, 's1'))])})
    const after = run(one)
    expect(after.ids).toEqual(['s1', 's2']) // the delete after the end is not applied
    expect(after.lines[0]).toContain('has 1 records after its end record')
  })

  it('a file of a newer format is refused with one message and left untouched', () => {
    const newer = bytes((w) => w.begin(T.Header).u32(MAGIC).u16(FORMAT_VERSION + 1).u8(0).f64(1).end())
    const dir = storeDir({'journal-1.log': newer})
    expect(() => run(dir)).toThrow(/a store file in .* has format version \d+, newer than this broker's \d+: not read, not changed; run the newer broker, or move the store away to start empty/)
    expect(readFileSync(join(dir, 'journal-1.log'))).toEqual(newer)
    expect(readdirSync(dir)).toEqual(['journal-1.log'])
  })

  it('a flipped byte in the middle of a journal: the changes before it kept, everything from that record on moved aside', () => {
    const whole = journal(3, 'a', 'b', 'c', 'd')
    const bad = Buffer.from(whole)
    const third = journal(3, 'a', 'b').length // where the record of 'c' starts
    bad[third + 12] ^= 0x01
    const dir = storeDir({'journal-3.log': bad})
    const {ids, lines} = run(dir)
    expect(ids).toEqual(['a', 'b'])
    expect(lines[0]).toContain(`journal-3.log is damaged at byte ${third} of ${bad.length} (checksum mismatch): kept the 2 changes before it`)
    expect(readFileSync(join(dir, 'journal-3.log.corrupt-20261203T101500Z'))).toEqual(bad.subarray(third))
  })

  it('a record claiming a huge length stops the scan there without reading on', () => {
    const good = journal(2, 'a')
    const hostile = Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), journal(2, 'b').subarray(good.length)])
    const dir = storeDir({'journal-2.log': hostile})
    const {ids, lines} = run(dir)
    expect(ids).toEqual(['a'])
    expect(lines[0]).toContain(`is damaged at byte ${good.length} of ${hostile.length} (impossible record length ${0xffffffff})`)
  })

  it('an empty journal (a crash while it was created) loads as nothing, silently', () => {
    const {ids, lines, loaded} = run(storeDir({'journal-4.log': ''}))
    expect(ids).toEqual([])
    expect(lines).toEqual([])
    expect(loaded.maxGen).toBe(4)
  })

  it('a directory with a store file name: refused in one clear line naming it', () => {
    const dir = storeDir({})
    mkdirSync(join(dir, 'journal-5.log'))
    expect(() => run(dir)).toThrow(`${join(dir, 'journal-5.log')} is not a regular file, so not a store file: move it out of ${dir}`)
  })

  it('retained messages come back from the snapshot and the journal', () => {
    const dir = storeDir({
      'snapshot-1.bin': bytes((w) => {
        writeHeader(w, 1, 1)
        writeRetain(w, 'r/1', Buffer.from('a'), 1, undefined, 0)
        writeSnapEnd(w, 2)
      }),
      'journal-1.log': bytes((w) => {
        writeHeader(w, 0, 1)
        writeRetain(w, 'r/2', Buffer.from('b'), 0, undefined, 0)
      }),
    })
    expect([...run(dir).loaded.state.retained.keys()]).toEqual(['r/1', 'r/2'])
  })
})
