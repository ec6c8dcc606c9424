/**
 * whenDurable()'s queue directly (waiters.ts): callbacks released in count order (acks leave in the
 * order their operations came in), never past the count reached, and every waiter told a failure once.
 */
import {describe, expect, it} from 'vitest'
import {Waiters} from '../../../src/broker/persistence/waiters.js'

/** Waiters and what their callbacks heard ('name', or 'name:error'); `names` are added for counts 1, 2, 3 ... */
function recorder(...names: string[]) {
  const w = new Waiters()
  const calls: Array<string> = []
  const cb = (name: string) => (err?: Error) => calls.push(err === undefined ? name : `${name}:${err.message}`)
  names.forEach((name, i) => w.add(i + 1, cb(name)))
  return {w, calls, cb}
}

describe('Waiters', () => {
  it('releases only the waiters up to the count reached, in count order', () => {
    const {w, calls, cb} = recorder('a', 'b')
    w.add(5, cb('c'))
    w.release(0)
    expect(calls).toEqual([])
    w.release(2)
    expect(calls).toEqual(['a', 'b'])
    w.release(4)
    expect(calls).toEqual(['a', 'b'])
    w.release(5)
    expect(calls).toEqual(['a', 'b', 'c'])
    w.release(100)
    expect(calls).toHaveLength(3) // nobody is called twice
  })

  it('a waiter for an older count goes before the later ones; equal counts keep their arrival order', () => {
    const {w, calls, cb} = recorder()
    w.add(3, cb('three'))
    w.add(7, cb('seven'))
    w.add(3, cb('three-again'))
    w.add(1, cb('one'))
    w.release(3)
    expect(calls).toEqual(['one', 'three', 'three-again'])
    w.release(7)
    expect(calls.at(-1)).toBe('seven')
  })

  it('a waiter added for an older count after a partial release is released at the next release', () => {
    const {w, calls, cb} = recorder()
    w.add(1, cb('a'))
    w.add(9, cb('b'))
    w.release(1)
    w.add(2, cb('late'))
    w.release(2)
    expect(calls).toEqual(['a', 'late'])
  })

  it('failAll tells every waiter not yet released the error, once, and the queue is empty after', () => {
    const {w, calls, cb} = recorder('a', 'b', 'c')
    w.release(1)
    w.failAll(new Error('ENOSPC'))
    expect(calls).toEqual(['a', 'b:ENOSPC', 'c:ENOSPC'])
    w.release(10)
    w.failAll(new Error('again'))
    expect(calls).toHaveLength(3)
    w.add(4, cb('d'))
    w.release(4)
    expect(calls.at(-1)).toBe('d')
  })

  it('thousands of waiters released in steps stay in order (the list is trimmed on the way)', () => {
    const w = new Waiters()
    const got: number[] = []
    for (let i = 1; i <= 5000; i++) w.add(i, (err) => got.push(err === undefined ? i : -i))
    w.release(1500)
    w.release(1501)
    w.add(4000, (err) => got.push(err === undefined ? 0 : -4000)) // an older count among the waiting ones
    w.release(3000)
    const failed: number[] = []
    w.add(6000, (err) => failed.push(err === undefined ? 0 : 1))
    w.release(4000)
    expect(got.slice(0, 3000)).toEqual(Array.from({length: 3000}, (_, i) => i + 1))
    expect(got.slice(3000)).toEqual([...Array.from({length: 1000}, (_, i) => 3001 + i), 0])
    w.failAll(new Error('x'))
    expect(failed).toEqual([1])
    expect(got.slice(4001)).toEqual(Array.from({length: 1000}, (_, i) => -(4001 + i)))
  })

  it('a callback that adds a waiter already reached is released in the same call', () => {
    const {w, calls, cb} = recorder()
    w.add(1, () => {
      calls.push('first')
      w.add(2, cb('added'))
    })
    w.release(2)
    expect(calls).toEqual(['first', 'added'])
  })
})
