/**
 * Which store the broker runtime gets (select.ts): the memory store for `persistence: none`, else the
 * durable store with the configuration's units turned into its options (MiB, seconds); and the
 * store figures whatever the store.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {PersistenceConfig} from '../../../src/config/schema.js'
import {silentLogger} from '../../../src/broker/log.js'
import {DurableStore} from '../../../src/broker/persistence/durable.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {storeFigures, storeFor} from '../../../src/broker/persistence/select.js'
import type {Store} from '../../../src/broker/persistence/store.js'
import {ManualClock} from '../../helpers/clock.js'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupStores, delivery, msg, opts, tempDir} from './helpers.js'

cleanupStores()

const persistence = (p: Partial<PersistenceConfig> = {}): {persistence: PersistenceConfig} => ({persistence: {mode: 'durable', sync: 'always', syncInterval: 1000, compactMb: 64, subscriptionsInterval: 10, ...p}})
const opened: Store[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})
async function open(p: Partial<PersistenceConfig>, dir = tempDir(), clock = new ManualClock()): Promise<Store> {
  const s = storeFor(persistence(p), dir, silentLogger, clock)
  await s.open()
  opened.push(s)
  return s
}
const durable = (s: Store) => new Promise<Error | undefined>((resolve) => s.whenDurable(s.writeSeq, resolve))

describe('storeFor', () => {
  it('persistence "none": the memory store, nothing on disk', async () => {
    const dir = tempDir()
    const s = storeFor(persistence({mode: 'none'}), dir, silentLogger)
    expect(s).toBeInstanceOf(MemoryStore)
    await s.open()
    s.createSession('a', 60)
    expect(s.writeSeq).toBe(0)
    expect(existsSync(join(dir, 'store'))).toBe(false)
  })

  it('durable: the store under <dataDir>/store with the configured sync mode', async () => {
    const dir = tempDir()
    const s = await open({sync: 'interval'}, dir)
    expect(s).toBeInstanceOf(DurableStore)
    expect(existsSync(join(dir, 'store', 'journal-1.log'))).toBe(true)
    expect(storeFigures(s)).toMatchObject({kind: 'durable', sync: 'interval'})
    await s.close()
  })

  it('subscriptionsInterval is seconds on the given clock: subscriptions.json is written that long after a change', async () => {
    const dir = tempDir()
    const clock = new ManualClock()
    const s = await open({subscriptionsInterval: 60}, dir, clock) // the file is missing: written after 60 s
    clock.advance(59_999)
    // Two journal round trips (each a write and an fdatasync) give a write that was due the time to land.
    s.createSession('a', 60)
    await durable(s)
    s.createSession('b', 60)
    await durable(s)
    expect(existsSync(join(dir, 'subscriptions.json'))).toBe(false)
    clock.advance(1)
    await waitFor(() => existsSync(join(dir, 'subscriptions.json')), 10_000, 'subscriptions.json')
    await s.close()
  })

  it('syncInterval is milliseconds: the fdatasync of sync "interval" comes that long after a write', async () => {
    const clock = new ManualClock()
    const s = await open({sync: 'interval', syncInterval: 300}, tempDir(), clock)
    s.createSession('a', 60)
    await durable(s)
    await waitFor(() => storeFigures(s).fsyncs === 1, 10_000, 'the first fdatasync')
    s.createSession('b', 60)
    await durable(s)
    clock.advance(299)
    await new Promise((r) => setImmediate(r))
    expect(storeFigures(s).fsyncs).toBe(1)
    clock.advance(1)
    await waitFor(() => storeFigures(s).fsyncs === 2, 10_000, 'the interval fdatasync')
    await s.close()
  })

  it('compactMb is MiB: a journal past half of it compacts at the next start, one just below does not', async () => {
    const grown = async (payloadBytes: number) => {
      const dir = tempDir()
      const first = await open({compactMb: 64}, dir)
      first.setRetained({topic: 'big', payload: Buffer.alloc(payloadBytes, 1), qos: 1})
      await durable(first)
      await first.close()
      const again = await open({compactMb: 1}, dir) // journal-2.log; a compaction rotates to journal-3.log
      again.setRetained({topic: 'small', payload: Buffer.from('x'), qos: 0})
      await durable(again)
      const compacted = existsSync(join(dir, 'store', 'journal-3.log'))
      await again.close()
      return compacted
    }
    expect(await grown(530_000)).toBe(true) // > 524,288 bytes (half a MiB)
    expect(await grown(510_000)).toBe(false) // > 500,000 (half a MB), < half a MiB
  })
})

describe('storeFigures', () => {
  it('the memory store: persistent sessions and their queued and in-flight messages, retained, nothing on disk', () => {
    const s = new MemoryStore()
    const p = s.createSession('p', 60)
    s.enqueue(p, delivery(msg('t', '1')))
    s.enqueue(p, delivery(msg('t', '2')))
    s.setInflight(p, {...delivery(msg('t', '3')), packetId: 1})
    const clean = s.createSession('c', 0)
    s.enqueue(clean, delivery(msg('t', 'x')))
    s.addSubscription(clean, 'a', opts(0))
    s.setRetained({topic: 'r', payload: Buffer.from('v'), qos: 0})
    expect(storeFigures(s)).toEqual({kind: 'memory', bytesOnDisk: 0, persistentSessions: 1, storedMessages: 3, retained: 1, fsyncs: 0, fsyncP50Ms: 0, fsyncP99Ms: 0, batches: 0, degraded: false, degradedEpisodes: 0, compactions: 0})
  })

  it("the durable store: its own figures (bytes on disk, fsyncs)", async () => {
    const s = await open({})
    s.createSession('p', 60)
    await durable(s)
    const f = storeFigures(s)
    expect(f).toMatchObject({kind: 'durable', sync: 'always', persistentSessions: 1})
    expect(f.bytesOnDisk).toBeGreaterThan(0)
    expect(f.fsyncs).toBeGreaterThan(0)
    await s.close()
  })
})
