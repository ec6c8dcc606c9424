/**
 * The durable store's damaged files: a truncated journal tail, flipped bytes, a damaged snapshot, a
 * file with a store name that is not a store file, format versions (older load, newer is refused).
 * Each: one log line saying what was kept, the bad part moved aside, never silently dropped.
 */
import {mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {FORMAT_VERSION, MAGIC, T} from '../../../src/broker/persistence/codec.js'
import {DurableStore} from '../../../src/broker/persistence/durable.js'
import {RecordWriter, writeQueue} from '../../../src/broker/persistence/encode.js'
import {cleanupStores, delivery, msg, openStore, opts, queueOf, tempDir} from './helpers.js'

cleanupStores()

describe('DurableStore: damaged files', () => {
  it('a truncated journal tail: one log line with what was kept, the tail moved aside, the rest loads', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    const a = store.createSession('a', 60)
    for (let i = 0; i < 10; i++) store.enqueue(a, delivery(msg('t', `m${i}`)))
    await store.flushed()
    await store.close()
    const journal = readdirSync(join(dir, 'store')).find((n) => n.startsWith('journal-'))!
    const path = join(dir, 'store', journal)
    const size = statSync(path).size
    truncateSync(path, size - 5) // the last record loses its end
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(queueOf(again, 'a')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'])
    const lines = log.lines.filter((l) => l.includes('damaged'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/truncated record/)
    expect(lines[0]).toMatch(/kept the \d+ changes/)
    const aside = readdirSync(join(dir, 'store')).filter((n) => n.includes('.corrupt-'))
    expect(aside).toHaveLength(1)
    expect(statSync(join(dir, 'store', aside[0])).size).toBeGreaterThan(0)
  })

  it('flipped bytes in the middle of a journal: detected by the checksum, the rest moved aside', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    const a = store.createSession('a', 60)
    for (let i = 0; i < 10; i++) store.enqueue(a, delivery(msg('t', `payload-${i}-xxxxxxxx`)))
    await store.flushed()
    await store.close()
    const path = join(dir, 'store', readdirSync(join(dir, 'store')).find((n) => n.startsWith('journal-'))!)
    const bytes = readFileSync(path)
    const at = bytes.indexOf('payload-5')
    bytes[at + 3] ^= 0xff
    writeFileSync(path, bytes)
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(queueOf(again, 'a')).toEqual(['payload-0-xxxxxxxx', 'payload-1-xxxxxxxx', 'payload-2-xxxxxxxx', 'payload-3-xxxxxxxx', 'payload-4-xxxxxxxx'])
    expect(log.lines.filter((l) => l.includes('checksum mismatch'))).toHaveLength(1)
    const aside = readdirSync(join(dir, 'store')).find((n) => n.includes('.corrupt-'))!
    expect(readFileSync(join(dir, 'store', aside)).includes('payload-9')).toBe(true)
    // New changes after such a start are kept.
    again.enqueue(again.getSession('a')!, delivery(msg('t', 'after')))
    await again.flushed()
    await again.close()
    const third = await openStore({dir})
    expect(queueOf(third, 'a').at(-1)).toBe('after')
  })

  it('a damaged snapshot: the good part and the journal load, the rest is moved aside', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    for (let i = 0; i < 20; i++) store.createSession(`s${i}`, 60)
    await store.compact()
    store.createSession('after', 60)
    await store.flushed()
    await store.close()
    const snap = join(dir, 'store', readdirSync(join(dir, 'store')).find((n) => n.startsWith('snapshot-'))!)
    const bytes = readFileSync(snap)
    bytes[bytes.indexOf('s15') + 1] ^= 0x55
    writeFileSync(snap, bytes)
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    const ids = [...again.sessions()].map((s) => s.clientId)
    expect(ids).toContain('after')
    expect(ids).toContain('s0')
    expect(ids).not.toContain('s19')
    expect(log.lines.filter((l) => l.includes('damaged'))).toHaveLength(1)
  })

  it('a file with a store name that is not a store file (a snapshot, a journal): moved aside, the store starts', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    store.createSession('kept', 60)
    await store.flushed()
    await store.close()
    writeFileSync(join(dir, 'store', 'snapshot-1.bin'), 'this is not a snapshot at all')
    writeFileSync(join(dir, 'store', 'journal-99.log'), Buffer.alloc(64, 0xff))
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(log.lines.filter((l) => l.includes('damaged'))).toHaveLength(2)
    expect(readdirSync(join(dir, 'store')).filter((n) => n.includes('.corrupt-'))).toHaveLength(2)
    again.createSession('after', 60)
    await again.flushed()
    await again.close()
    // A second start with the same damage moved aside again does not trip over the earlier copies.
    writeFileSync(join(dir, 'store', 'journal-99.log'), Buffer.alloc(64, 0xff))
    const third = await openStore({dir})
    expect(third.getSession('after')).toBeDefined()
  })

  it('format versions: a version 1 journal still loads; a newer one is refused, untouched', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'store'))
    const w = new RecordWriter()
    w.begin(T.Header).u32(MAGIC).u16(1).u8(0).f64(1).end()
    // A version 1-3 session record: a pending will, no connection will (version 4).
    w.begin(T.SessionNew).str16('old').u32(60).f64(1000).f64(0).u8(0).end()
    // A version 1 message record: no raw-properties field.
    w.begin(T.Msg).f64(1).str16('t/1').bytes(Buffer.from('v1 payload')).u8(1).f64(0).str16('').u8(0).str32('').end()
    writeQueue(w, 'old', 2, 1, {qos: 1, retain: false})
    writeFileSync(join(dir, 'store', 'journal-1.log'), Buffer.concat(w.take()))
    const store = await openStore({dir})
    expect(queueOf(store, 'old')).toEqual(['v1 payload'])
    await store.close()

    const newer = new RecordWriter()
    newer.begin(T.Header).u32(MAGIC).u16(FORMAT_VERSION + 1).u8(0).f64(50).end()
    const bytes = Buffer.concat(newer.take())
    writeFileSync(join(dir, 'store', 'journal-50.log'), bytes)
    await expect(new DurableStore({dir}).open()).rejects.toThrow(/format version \d+, newer than this broker's/)
    expect(readFileSync(join(dir, 'store', 'journal-50.log'))).toEqual(bytes)
    expect(readdirSync(join(dir, 'store')).some((n) => n.includes('.corrupt-'))).toBe(false)
  })
})
