/**
 * The journal writer directly (journal.ts), on real files: group commit (one write and one
 * fdatasync per batch, whatever the number of changes), acks in order, changes gathering while an
 * fdatasync runs, sync "interval" on an injected clock, uncounted records, close. Disk errors,
 * recovery and compaction: journal-errors.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {T} from '../../../src/broker/persistence/codec.js'
import {writeKey} from '../../../src/broker/persistence/encode.js'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupJournals, startJournal} from './journal-harness.js'
import {cleanupStores} from './helpers.js'

cleanupStores()
cleanupJournals()

describe('Journal: group commit', () => {
  it('many changes made together: one write, one fdatasync, every waiter released in order', async () => {
    const h = await startJournal()
    const before = {writev: h.calls.writev, fdatasync: h.calls.fdatasync}
    const order: number[] = []
    const all: Array<Promise<unknown>> = []
    for (let i = 1; i <= 50; i++) {
      const seq = h.change(`c${i}`)
      all.push(new Promise<void>((resolve) => h.j.whenDurable(seq, (err) => {
        order.push(err === undefined ? seq : -seq)
        resolve()
      })))
    }
    await Promise.all(all)
    expect(order).toEqual(Array.from({length: 50}, (_, i) => i + 1))
    expect(h.calls.writev - before.writev).toBe(1)
    expect(h.calls.fdatasync - before.fdatasync).toBe(1)
    expect(h.j.batches).toBe(1)
    expect(h.j.fsyncs).toBe(1)
    expect(h.ids(1)).toEqual(Array.from({length: 50}, (_, i) => `c${i + 1}`))
  })

  it('a waiter is not released before its fdatasync returns; what comes meanwhile goes in the next batch', async () => {
    const h = await startJournal()
    const sync = h.hold('fdatasync')
    const first = h.durable(h.change('a'))
    let firstDone = false
    void first.then(() => (firstDone = true))
    await sync.reached
    const later = [h.durable(h.change('b')), h.durable(h.change('c')), h.durable(h.change('d'))]
    await new Promise((r) => setImmediate(r))
    expect(firstDone).toBe(false)
    sync.release()
    expect(await first).toBeUndefined()
    expect(await Promise.all(later)).toEqual([undefined, undefined, undefined])
    expect(h.j.batches).toBe(2) // a, then b+c+d together
    expect(h.ids(1)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('whenDurable of a count already durable (or 0) answers at once, synchronously', async () => {
    const h = await startJournal()
    await h.durable(h.change('a'))
    let called = 0
    h.j.whenDurable(1, () => called++)
    h.j.whenDurable(0, () => called++)
    expect(called).toBe(2)
  })

  it('append(): an uncounted record goes with the next batch; nothing waits for it', async () => {
    const h = await startJournal()
    writeKey(h.j.append(), T.SessionDel, 'uncounted')
    expect(h.j.seq).toBe(0)
    await waitFor(() => h.j.batches === 1, 10_000, 'the batch')
    await h.durable(h.change('counted'))
    expect(h.ids(1)).toEqual(['uncounted', 'counted'])
  })
})

describe('Journal: sync "interval"', () => {
  it('a waiter is released once written; an fdatasync runs at most once per interval (the first batch after a quiet time at once)', async () => {
    const h = await startJournal({sync: 'interval', syncIntervalMs: 500})
    expect(await h.durable(h.change('a'))).toBeUndefined()
    await waitFor(() => h.j.fsyncs === 1, 10_000, 'the first fdatasync') // none for longer than the interval
    const synced = h.calls.fdatasync
    expect(await h.durable(h.change('b'))).toBeUndefined()
    expect(await h.durable(h.change('c'))).toBeUndefined()
    expect(h.j.batches).toBe(3)
    expect(h.calls.fdatasync).toBe(synced)
    h.clock.advance(499)
    await new Promise((r) => setImmediate(r))
    expect(h.calls.fdatasync).toBe(synced)
    h.clock.advance(1)
    await waitFor(() => h.j.fsyncs === 2, 10_000, 'the interval fdatasync')
    expect(h.calls.fdatasync).toBe(synced + 1)
    expect(h.clock.pending).toBe(0) // nothing unsynced: no timer armed
  })

  it('a waiter does not wait for the fdatasync of its batch', async () => {
    const h = await startJournal({sync: 'interval', syncIntervalMs: 500})
    const sync = h.hold('fdatasync')
    const first = h.durable(h.change('a'))
    await sync.reached
    expect(await first).toBeUndefined() // released while the fdatasync is still held
    sync.release()
  })

  it('close() writes what is left and runs a last fdatasync', async () => {
    const h = await startJournal({sync: 'interval', syncIntervalMs: 60_000})
    await h.durable(h.change('a'))
    await waitFor(() => h.j.fsyncs === 1, 10_000, 'the first fdatasync')
    h.change('b')
    await h.j.close()
    expect(h.j.fsyncs).toBe(2)
    expect(h.ids(1)).toEqual(['a', 'b'])
    expect(h.clock.pending).toBe(0)
  })
})

describe('Journal: close', () => {
  it('close() flushes the pending batch (sync always); a second close and changes after it do nothing', async () => {
    const h = await startJournal()
    const seq = h.change('last')
    const outcome = h.durable(seq)
    await h.j.close()
    expect(await outcome).toBeUndefined()
    expect(h.j.closed).toBe(true)
    await h.j.close()
    const writes = h.calls.writev
    h.change('after')
    await new Promise((r) => setImmediate(r))
    expect(h.calls.writev).toBe(writes)
    expect(h.ids(1)).toEqual(['last'])
  })

  it('after close(), a change can never be durable: its waiter hears so at once instead of waiting for ever', async () => {
    const h = await startJournal()
    await h.j.close()
    let answer: Error | undefined
    h.j.whenDurable(h.change('too-late'), (err) => (answer = err ?? new Error('durable?')))
    expect((answer as NodeJS.ErrnoException | undefined)?.code).toBe('ESTORE_DEGRADED')
  })

  it('start() opens journal-<gen>.log with its header only; bytesOnDisk counts it and the other files', async () => {
    const h = await startJournal({gen: 7})
    expect(h.ids(7)).toEqual([])
    const base = h.j.bytesOnDisk()
    expect(base).toBeGreaterThan(0)
    h.fileSizes.set('/elsewhere/snapshot-6.bin', 1000)
    expect(h.j.bytesOnDisk()).toBe(base + 1000)
    await h.durable(h.change('x'))
    expect(h.j.bytesOnDisk()).toBeGreaterThan(base + 1000)
    expect(h.j.gen).toBe(7)
  })
})
