/**
 * The journal writer's failures and rotations directly (journal.ts): a failed write or fdatasync
 * refuses what waited and degrades the store (one line per episode); a retry every retryMs (injected
 * clock) writes a snapshot into a new generation and only its success ends the episode; compaction
 * when the journal has grown by compactBytes, and a failed compaction snapshot that only delays the
 * next one.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupJournals, type Harness, startJournal} from './journal-harness.js'
import {cleanupStores} from './helpers.js'

cleanupStores()
cleanupJournals()

const code = (err: Error | undefined) => (err as NodeJS.ErrnoException | undefined)?.code

/** Fails the next write: the change's waiter is refused and the journal degraded. */
async function degrade(h: Harness, op: 'writev' | 'fdatasync' = 'writev'): Promise<Error | undefined> {
  h.fail(op, op === 'writev' ? 'ENOSPC' : 'EIO')
  return h.durable(h.change('lost'))
}

describe('Journal: a failed write', () => {
  it('refuses every waiter of the batch with the cause, degrades, and says so in one line', async () => {
    const h = await startJournal()
    h.fail('writev', 'ENOSPC')
    const waits = [h.durable(h.change('a')), h.durable(h.change('b'))]
    const errs = await Promise.all(waits)
    expect(errs.map(code)).toEqual(['ENOSPC', 'ENOSPC'])
    expect(errs[0]?.message).toBe('the store cannot write to disk: ENOSPC')
    expect(h.j.degraded).toBe(true)
    expect(h.j.episodes).toBe(1)
    const errors = h.lines.filter((l) => l.includes('ERROR'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(`Store: cannot write in ${h.dir} (ENOSPC ENOSPC: injected); refusing new QoS 1/2 work that needs the disk until it can write again, QoS 0 keeps flowing; retrying every 1000 ms`)
  })

  it('while degraded, new work is refused at once and nothing more is written', async () => {
    const h = await startJournal()
    await degrade(h)
    const writes = h.calls.writev
    let answer: Error | undefined
    h.j.whenDurable(h.change('meanwhile'), (err) => (answer = err))
    expect(code(answer)).toBe('ESTORE_DEGRADED') // synchronously
    await new Promise((r) => setImmediate(r))
    expect(h.calls.writev).toBe(writes)
    expect(h.ids(1)).toEqual([])
  })

  it('a failed fdatasync is a failed write too', async () => {
    const h = await startJournal()
    expect(code(await degrade(h, 'fdatasync'))).toBe('EIO')
    expect(h.j.degraded).toBe(true)
  })
})

describe('Journal: recovery', () => {
  it('after retryMs a snapshot goes into a new generation; only once it is written is the store writable again', async () => {
    const h = await startJournal({retryMs: 2000})
    await degrade(h)
    h.clock.advance(1999)
    await new Promise((r) => setImmediate(r))
    expect(h.snapshots).toHaveLength(0)
    h.clock.advance(1)
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the recovery snapshot')
    expect(h.snapshots[0].gen).toBe(2)
    expect(h.j.gen).toBe(2)
    expect(existsSync(join(h.dir, 'journal-2.log'))).toBe(true)
    expect(h.j.degraded).toBe(true)
    h.change('during') // written to the new journal while the snapshot is written
    await waitFor(() => h.j.batches === 1, 10_000, 'the batch in the new journal')
    h.snapshots[0].resolve()
    await waitFor(() => !h.j.degraded, 10_000, 'the end of the episode')
    expect(h.ids(2)).toEqual(['during'])
    expect(h.lines.at(-1)).toMatch(new RegExp(`WARN: Store: writing to ${h.dir} again after 2\\.0 s; accepting QoS 1/2 work that needs the disk again`))
    expect(await h.durable(h.change('after'))).toBeUndefined()
    expect(h.ids(2)).toEqual(['during', 'after'])
    expect(h.j.compactions).toBe(1)
  })

  it('a recovery snapshot that fails keeps it degraded; the next retry tries again, still one episode, one line', async () => {
    const h = await startJournal()
    await degrade(h)
    h.clock.advance(1000)
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the first retry')
    h.snapshots[0].reject(Object.assign(new Error('full'), {code: 'ENOSPC'}))
    await waitFor(() => h.clock.pending > 0, 10_000, 'the next retry armed')
    expect(h.j.degraded).toBe(true)
    h.clock.advance(1000)
    await waitFor(() => h.snapshots.length === 2, 10_000, 'the second retry')
    expect(h.snapshots[1].gen).toBe(3)
    h.snapshots[1].resolve()
    await waitFor(() => !h.j.degraded, 10_000, 'the end of the episode')
    expect(h.j.episodes).toBe(1)
    expect(h.lines.filter((l) => l.includes('ERROR'))).toHaveLength(1)
  })

  it('a journal write that fails while the recovery snapshot is written: still degraded when the snapshot succeeds', async () => {
    const h = await startJournal()
    await degrade(h)
    h.clock.advance(1000)
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the retry')
    h.fail('writev', 'EIO')
    h.change('fails-too')
    await waitFor(() => h.calls.writev > 0 && h.clock.pending > 0, 10_000, 'the failed write')
    h.snapshots[0].resolve()
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    expect(h.j.degraded).toBe(true)
    expect(h.j.episodes).toBe(1)
  })
})

describe('Journal: compact() (tests and the bench)', () => {
  it('compacts now and resolves once the snapshot is written', async () => {
    const h = await startJournal()
    await h.durable(h.change('a'))
    const done = h.j.compact()
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the snapshot')
    h.snapshots[0].resolve()
    await done
    expect(h.j.gen).toBe(2)
    expect(h.j.compactions).toBe(1)
  })

  it('a snapshot that could not be written: compact() says so', async () => {
    const h = await startJournal()
    const done = h.j.compact()
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the snapshot')
    h.snapshots[0].reject(Object.assign(new Error('disk'), {code: 'EIO'}))
    await expect(done).rejects.toThrow('the snapshot could not be written (see the log)')
  })

  it('refuses when it cannot compact (degraded, closed) instead of waiting for ever', async () => {
    const h = await startJournal()
    await degrade(h)
    await expect(h.j.compact()).rejects.toMatchObject({code: 'ESTORE_DEGRADED'})
    const failing = await startJournal()
    failing.change('pending')
    failing.fail('writev', 'EIO') // the batch written before the rotation fails
    await expect(failing.j.compact()).rejects.toMatchObject({code: 'ESTORE_DEGRADED'})
    const closed = await startJournal()
    await closed.j.close()
    await expect(closed.j.compact()).rejects.toThrow('the store is closed')
  })
})

describe('Journal: compaction', () => {
  it('when the journal has grown by compactBytes a new generation starts and the snapshot is written beside it', async () => {
    const h = await startJournal({compactBytes: 300})
    for (let i = 0; i < 20; i++) h.change(`session-${i}`)
    await h.durable(h.j.seq)
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the compaction')
    expect(h.snapshots[0].gen).toBe(2)
    expect(h.ids(1)).toHaveLength(20) // the old journal is complete
    expect(h.fileSizes.get(join(h.dir, 'journal-1.log'))).toBeGreaterThan(300)
    expect(await h.durable(h.change('next'))).toBeUndefined()
    expect(h.ids(2)).toEqual(['next'])
    h.snapshots[0].resolve()
    await waitFor(() => h.j.compactions === 1, 10_000, 'the compaction counted')
  })

  it('a compaction snapshot that fails: not degraded, one warning, no new compaction for 60 s', async () => {
    const h = await startJournal({compactBytes: 100})
    for (let i = 0; i < 10; i++) h.change(`s${i}`)
    await waitFor(() => h.snapshots.length === 1, 10_000, 'the compaction')
    h.snapshots[0].reject(Object.assign(new Error('disk'), {code: 'EIO'}))
    await waitFor(() => h.lines.some((l) => l.includes('could not be written')), 10_000, 'the warning')
    expect(h.lines.find((l) => l.includes('could not be written'))).toContain('WARN: Store: snapshot 2 could not be written (EIO); the journal keeps everything, next try in 60 s')
    expect(h.j.degraded).toBe(false)
    for (let i = 0; i < 10; i++) h.change(`t${i}`)
    expect(await h.durable(h.j.seq)).toBeUndefined()
    expect(await h.durable(h.change('t10'))).toBeUndefined() // a rotation would have come before this batch
    expect(h.snapshots).toHaveLength(1)
    h.clock.advance(60_000)
    expect(await h.durable(h.change('later'))).toBeUndefined()
    await waitFor(() => h.snapshots.length === 2, 10_000, 'the next compaction')
  })

  it('a journal already past half of compactBytes at start compacts at once; so does compactNow', async () => {
    const past = await startJournal({compactBytes: 1000, sinceSnapshot: 501})
    await waitFor(() => past.snapshots.length === 1, 10_000, 'compaction at start')
    const below = await startJournal({compactBytes: 1000, sinceSnapshot: 500})
    const forced = await startJournal({compactBytes: 1000, compactNow: true})
    await waitFor(() => forced.snapshots.length === 1, 10_000, 'forced compaction')
    await below.durable(below.change('x'))
    expect(below.snapshots).toHaveLength(0)
  })
})
