/**
 * The applied marks of JetStream copies (src/broker/cluster/applied.ts): kept in the store as
 * records no client can see, read back after a restart, pruned, bounded, and left out of the
 * retained count the broker reports.
 */
import {describe, expect, it} from 'vitest'
import {APPLIED_ROOT, AppliedMarks, MAX_MARKS} from '../../../src/broker/cluster/applied.js'
import {ExportAcks, withExportAcks} from '../../../src/broker/cluster/acks.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {validateTopicFilter, validateTopicName} from '../../../src/broker/protocol/topics.js'

describe('AppliedMarks', () => {
  it('a mark survives in the store: a new instance over it (a restart) recognises the copy by sequence and id', () => {
    const store = new MemoryStore()
    const marks = new AppliedMarks(store)
    marks.mark(7, 'run-1')
    marks.mark(8, 'run-2')
    const after = new AppliedMarks(store)
    after.load(Date.now())
    expect(after.has(7, 'run-1')).toBe(true)
    expect(after.has(8, 'run-2')).toBe(true)
    expect(after.has(7, 'run-2')).toBe(false) // a sequence reused by a re-created stream: not the same copy
    expect(after.has(9, 'run-1')).toBe(false)
  })

  it('done() and prune(floor) delete the records; damaged records are dropped at load', () => {
    const store = new MemoryStore()
    const marks = new AppliedMarks(store)
    for (const seq of [1, 2, 3, 10]) marks.mark(seq, `id-${seq}`)
    marks.done(10)
    marks.prune(2)
    expect(marks.size).toBe(1)
    store.setRetained({topic: `${APPLIED_ROOT}/not-a-number`, payload: Buffer.from('x'), qos: 0})
    const after = new AppliedMarks(store)
    after.load(Date.now())
    expect([after.size, after.has(3, 'id-3')]).toEqual([1, true])
    expect(store.retainedCount).toBe(1) // the damaged one is gone from the store too
  })

  it(`keeps at most ${MAX_MARKS} marks: the lowest sequence goes first`, () => {
    const marks = new AppliedMarks(new MemoryStore())
    for (let seq = 1; seq <= MAX_MARKS + 1; seq++) marks.mark(seq, `i${seq}`)
    expect(marks.size).toBe(MAX_MARKS)
    expect(marks.has(1, 'i1')).toBe(false)
    expect(marks.has(MAX_MARKS + 1, `i${MAX_MARKS + 1}`)).toBe(true)
  })

  it('no client can name or match a mark, and the broker\'s retained count leaves them out', () => {
    const store = new MemoryStore()
    const marks = new AppliedMarks(store)
    marks.mark(1, 'a')
    store.setRetained({topic: 'real/topic', payload: Buffer.from('r'), qos: 0})
    expect(validateTopicName(`${APPLIED_ROOT}/1`)).toMatch(/null character/)
    expect(validateTopicFilter(`${APPLIED_ROOT}/+`)).toMatch(/null character/)
    for (const filter of ['#', '+/+', '$SYS/#', '$share/g/#']) {
      expect(store.matchRetained(filter.startsWith('$share/') ? '#' : filter, Date.now()).map((r) => r.topic)).not.toContain(`${APPLIED_ROOT}/1`)
    }
    const seen = withExportAcks(store, new ExportAcks({flush: async () => {}}), () => marks.size)
    expect([store.retainedCount, seen.retainedCount]).toEqual([2, 1])
  })
})
