import {describe, expect, it} from 'vitest'
import {ExportAcks, withExportAcks} from '../../../src/broker/cluster/acks.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'

/** A flusher whose round trips the test completes by hand. */
function manualFlusher() {
  const pending: Array<{resolve: () => void; reject: (e: Error) => void}> = []
  return {
    pending,
    flush: () => new Promise<void>((resolve, reject) => pending.push({resolve, reject})),
  }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('ExportAcks', () => {
  it('one round trip answers every waiter it covers; later exports wait for the next', async () => {
    const f = manualFlusher()
    const acks = new ExportAcks(f)
    const done: string[] = []
    acks.whenFlushed(0, () => done.push('nothing exported'))
    expect(done).toEqual(['nothing exported'])
    acks.exported()
    acks.exported()
    acks.whenFlushed(acks.seq, () => done.push('a'))
    acks.whenFlushed(acks.seq, () => done.push('b'))
    expect(f.pending).toHaveLength(1) // one flush for both
    acks.exported()
    acks.whenFlushed(acks.seq, () => done.push('c'))
    f.pending.shift()!.resolve()
    await tick()
    expect(done).toEqual(['nothing exported', 'a', 'b'])
    expect(f.pending).toHaveLength(1) // the next round trip, for c
    f.pending.shift()!.resolve()
    await tick()
    expect(done).toEqual(['nothing exported', 'a', 'b', 'c'])
    acks.whenFlushed(3, () => done.push('already'))
    expect(done.at(-1)).toBe('already')
  })

  it('a failed round trip fails its waiters (the ack is refused, the client retries)', async () => {
    const f = manualFlusher()
    const acks = new ExportAcks(f)
    acks.exported()
    const errors: Array<Error | undefined> = []
    acks.whenFlushed(1, (e) => errors.push(e))
    f.pending.shift()!.reject(new Error('NATS went away'))
    await tick()
    expect(errors.map((e) => e?.message)).toEqual(['NATS went away'])
    // The next attempt can succeed.
    acks.whenFlushed(1, (e) => errors.push(e))
    f.pending.shift()!.resolve()
    await tick()
    expect(errors.at(-1)).toBeUndefined()
  })

  it('the wrapped store counts exports in writeSeq and delegates everything else', async () => {
    const f = manualFlusher()
    const acks = new ExportAcks(f)
    const inner = new MemoryStore()
    const store = withExportAcks(inner, acks)
    expect(store.writeSeq).toBe(0)
    const s = store.createSession('c1', 10)
    expect(inner.getSession('c1')).toBe(s)
    expect(store.sessionCount).toBe(1)
    acks.exported()
    expect(store.writeSeq).toBe(1)
    let durable = false
    store.whenDurable(store.writeSeq, () => (durable = true))
    expect(durable).toBe(false)
    f.pending.shift()!.resolve()
    await tick()
    expect(durable).toBe(true)
  })
})

describe('ExportAcks with JetStream copies', () => {
  it('a waiter covering a JetStream copy waits for its ack, and fails when JetStream refused it', async () => {
    const f = manualFlusher()
    const acks = new ExportAcks(f)
    let ack!: () => void
    let refuse!: (e: Error) => void
    acks.exported(new Promise<void>((resolve) => (ack = resolve)))
    const done: Array<string> = []
    acks.whenFlushed(acks.seq, (e) => done.push(e?.message ?? 'ok 1'))
    f.pending.shift()!.resolve() // NATS has it, JetStream not yet
    await tick()
    expect(done).toEqual([])
    ack()
    await tick()
    expect(done).toEqual(['ok 1'])
    acks.exported(new Promise<void>((_, reject) => (refuse = reject)))
    acks.exported() // core only, after it: covered by the same round
    acks.whenFlushed(acks.seq, (e) => done.push(e?.message ?? 'ok 2'))
    refuse(new Error('maximum bytes exceeded'))
    f.pending.shift()!.resolve()
    await tick()
    expect(done).toEqual(['ok 1', 'maximum bytes exceeded'])
  })
})
