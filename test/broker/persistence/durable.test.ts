/**
 * The durable store: the Store contract (with restarts), then what only it has: group commit,
 * compaction while changes keep coming, a full or unwritable disk
 * (an injected write error, and a real tmpfs when running as root), subscriptions.json. Damaged
 * files: durable-damage.test.ts.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {DurableStore} from '../../../src/broker/persistence/durable.js'
import {nodeFs, type StoreFs} from '../../../src/broker/persistence/files.js'
import {crc32, crc32Portable} from '../../../src/broker/persistence/crc32.js'
import {ManualClock} from '../../helpers/clock.js'
import {picture, storeContract} from './contract.js'
import {cleanupStores, delivery, msg, openStore, opts, queueOf, tempDir} from './helpers.js'

cleanupStores()

storeContract(
  'DurableStore',
  async () => {
    const dir = tempDir()
    let current: DurableStore = new DurableStore({dir})
    return {
      store: current,
      async reopen() {
        await current.close()
        current = new DurableStore({dir})
        return current
      },
      async cleanup() {
        await current.close()
      },
    }
  },
  {persistent: true},
)

describe('DurableStore', () => {
  it('CRC-32: the native and the portable implementation agree', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog')
    expect(crc32(data)).toBe(0x414fa339)
    expect(crc32Portable(data)).toBe(0x414fa339)
  })

  it('group commit: one fsync for everything reported in one turn, waiters told in order', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    const a = store.createSession('a', 60)
    const before = store.figures().fsyncs
    const told: number[] = []
    for (let i = 0; i < 500; i++) {
      store.enqueue(a, delivery(msg('t', `m${i}`)))
      store.whenDurable(store.writeSeq, (err) => {
        expect(err).toBeUndefined()
        told.push(i)
      })
    }
    await store.flushed()
    expect(told).toEqual([...Array(500).keys()])
    expect(store.figures().fsyncs - before).toBeLessThanOrEqual(2)
  })

  it('sync "interval": waiters are told once written; an fdatasync follows within the interval', async () => {
    const dir = tempDir()
    const clock = new ManualClock()
    const store = await openStore({dir, sync: 'interval', syncIntervalMs: 1000, clock})
    const a = store.createSession('a', 60)
    store.enqueue(a, delivery(msg('t', 'x')))
    const fsyncs = store.figures().fsyncs
    await store.flushed()
    expect(store.figures().fsyncs).toBe(fsyncs)
    clock.advance(1000)
    for (let i = 0; i < 400 && store.figures().fsyncs === fsyncs; i++) await new Promise((r) => setTimeout(r, 5))
    expect(store.figures().fsyncs).toBe(fsyncs + 1)
  })

  it('compaction while changes keep coming: the reloaded state is exactly the live one', async () => {
    const dir = tempDir()
    const store = await openStore({dir, compactBytes: 2 ** 40})
    const big = Buffer.alloc(2000, 7)
    for (let i = 0; i < 300; i++) {
      const s = store.createSession(`c${i}`, 600)
      store.addSubscription(s, `t/${i}`, opts(1))
      for (let j = 0; j < 5; j++) store.enqueue(s, delivery(msg(`t/${i}`, Buffer.concat([Buffer.from(`${i}.${j}`), big]))))
    }
    for (let i = 0; i < 50; i++) store.setRetained({topic: `r/${i}`, payload: Buffer.from(`r${i}`), qos: 1})
    await store.flushed()
    // Start a compaction and keep changing the state while the snapshot is being written.
    const compaction = store.compact()
    for (let round = 0; round < 20; round++) {
      await new Promise((r) => setImmediate(r))
      const i = round * 7
      const s = store.getSession(`c${i}`)!
      // As the broker does: a delivery taken off the queue goes into flight or is removed (dequeue alone
      // writes nothing; without removeQueued the race with the snapshot decided whether it came back).
      const taken = store.dequeue(s)!
      store.removeQueued(s, taken)
      store.enqueue(s, delivery(msg('t', `late${round}`)))
      if (round % 3 === 0) store.deleteSession(`c${i + 1}`)
      if (round % 4 === 0) {
        const n = store.createSession(`c${i + 2}`, 300) // replaced: none of the old state
        store.addSubscription(n, 'new', opts(2))
      }
      store.setRetained({topic: `r/${round}`, payload: Buffer.from(`changed${round}`), qos: 0})
    }
    await compaction
    const names = readdirSync(join(dir, 'store'))
    expect(names.filter((n) => n.startsWith('snapshot-'))).toHaveLength(1)
    expect(names.filter((n) => n.startsWith('journal-'))).toHaveLength(1)
    const live = new Map([...store.sessions()].map((s) => [s.clientId, picture(s, true)]))
    const retained = store.matchRetained('#', Date.now()).map((r) => `${r.topic}=${r.payload}`).sort()
    await store.close()
    const again = await openStore({dir})
    expect(new Map([...again.sessions()].map((s) => [s.clientId, picture(s)]))).toEqual(live)
    expect(again.matchRetained('#', Date.now()).map((r) => `${r.topic}=${r.payload}`).sort()).toEqual(retained)
  })

  it('garbage subscriptions.json: one line, moved aside, rewritten from the store', async () => {
    const dir = tempDir()
    const store = await openStore({dir, subscriptionsIntervalMs: 10})
    const a = store.createSession('a', 60)
    store.addSubscription(a, 'x/+', opts(2))
    await store.close()
    const view = JSON.parse(readFileSync(join(dir, 'subscriptions.json'), 'utf8'))
    expect(view.sessions).toEqual([{clientId: 'a', expiryInterval: 60, subscriptions: [{filter: 'x/+', qos: 2}]}])
    writeFileSync(join(dir, 'subscriptions.json'), '{"sessions": [garbage')
    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(log.lines.filter((l) => l.includes('subscriptions.json') && l.includes('not a valid view'))).toHaveLength(1)
    expect(readdirSync(dir).some((n) => n.startsWith('subscriptions.json.bad-'))).toBe(true)
    expect(again.getSession('a')?.subscriptions.get('x/+')?.qos).toBe(2)
    await again.close()
    expect(JSON.parse(readFileSync(join(dir, 'subscriptions.json'), 'utf8')).sessions[0].clientId).toBe('a')
  })

  it('an empty store imports a valid subscriptions.json (a data directory from before the store)', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'subscriptions.json'),
      JSON.stringify({sessions: [{clientId: 'old', expiryInterval: 100, subscriptions: [{filter: 'a/#', qos: 1}, {filter: 'bad/#/x', qos: 1}]}, {clientId: 5}]}),
    )
    const log = memoryLogger('info')
    const store = await openStore({dir, logger: log})
    expect([...store.getSession('old')!.subscriptions.keys()]).toEqual(['a/#'])
    expect(log.lines.some((l) => l.includes('skipped 2 invalid entries'))).toBe(true)
  })

  describe('disk full or unwritable', () => {
    /** The real file system, except that writes fail while `failing` is set. */
    function faultyFs(): StoreFs & {failing: string | undefined} {
      const f = {
        ...nodeFs,
        failing: undefined as string | undefined,
        writev(fd: number, bufs: Buffer[], position: number) {
          if (f.failing) return Promise.reject(Object.assign(new Error(`injected ${f.failing}`), {code: f.failing}))
          return nodeFs.writev(fd, bufs, position)
        },
        open(path: string, flags: string) {
          if (f.failing && flags !== 'r') return Promise.reject(Object.assign(new Error(`injected ${f.failing}`), {code: f.failing}))
          return nodeFs.open(path, flags)
        },
      }
      return f
    }

    it('an injected write error: waiters told the error, degraded, one log line, recovery by a snapshot, nothing acknowledged that is not on disk', async () => {
      const dir = tempDir()
      const fs = faultyFs()
      const clock = new ManualClock()
      const log = memoryLogger('info')
      const store = await openStore({dir, fs, clock, logger: log, retryMs: 1000})
      const a = store.createSession('a', 60)
      store.enqueue(a, delivery(msg('t', 'before')))
      await store.flushed()
      fs.failing = 'ENOSPC'
      store.enqueue(a, delivery(msg('t', 'during')))
      await expect(store.flushed()).rejects.toThrow(/ENOSPC/)
      expect(store.degraded).toBe(true)
      // New work while degraded is refused at once.
      store.enqueue(a, delivery(msg('t', 'while degraded')))
      let refused: Error | undefined
      store.whenDurable(store.writeSeq, (err) => (refused = err))
      expect(refused).toBeDefined()
      clock.advance(1000) // a retry that fails again: no second log line
      await new Promise((r) => setTimeout(r, 20))
      expect(store.degraded).toBe(true)
      expect(log.lines.filter((l) => l.includes('cannot write'))).toHaveLength(1)
      fs.failing = undefined
      clock.advance(1000)
      for (let i = 0; i < 200 && store.degraded; i++) await new Promise((r) => setTimeout(r, 5))
      expect(store.degraded).toBe(false)
      expect(log.lines.filter((l) => l.includes('again after'))).toHaveLength(1)
      store.enqueue(a, delivery(msg('t', 'after')))
      await store.flushed()
      await store.close()
      // The memory state (the truth) was written by the recovery snapshot.
      const again = await openStore({dir})
      expect(queueOf(again, 'a')).toEqual(['before', 'during', 'while degraded', 'after'])
    })

    it('a real full file system (a 1 MiB tmpfs): degraded, then recovers when space returns', async (ctx) => {
      if (process.getuid?.() !== 0) {
        ctx.skip() // mounting a tmpfs needs root; the injected-error test above covers the logic
        return
      }
      const dir = tempDir()
      const mnt = join(dir, 'mnt')
      mkdirSync(mnt)
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
      } catch {
        ctx.skip() // root, but no mount permission (a container without CAP_SYS_ADMIN)
        return
      }
      try {
        const log = memoryLogger('info')
        const clock = new ManualClock()
        const store = await openStore({dir: mnt, clock, logger: log, retryMs: 1000})
        const a = store.createSession('a', 60)
        store.enqueue(a, delivery(msg('t', 'first')))
        await store.flushed()
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(900 * 1024))
        const big = Buffer.alloc(200 * 1024, 1)
        store.enqueue(a, delivery(msg('t', big)))
        await expect(store.flushed()).rejects.toThrow()
        expect(store.degraded).toBe(true)
        rmSync(join(mnt, 'filler'))
        clock.advance(1000)
        for (let i = 0; i < 400 && store.degraded; i++) await new Promise((r) => setTimeout(r, 5))
        expect(store.degraded).toBe(false)
        await store.close()
        const again = await openStore({dir: mnt})
        expect(again.getSession('a')!.queue!.map((d) => d.msg.payload.length)).toEqual([5, big.length])
        await again.close()
      } finally {
        execFileSync('umount', ['-l', mnt])
      }
    })
  })

  it('a missing data directory is created; store files are private to the broker user', async () => {
    const dir = join(tempDir(), 'nested', 'data')
    const store = await openStore({dir})
    store.createSession('a', 60)
    await store.flushed()
    expect(existsSync(join(dir, 'store'))).toBe(true)
    expect(statSync(join(dir, 'store')).mode & 0o077).toBe(0)
  })
})
