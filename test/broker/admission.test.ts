/**
 * Admission (src/broker/admission.ts) without sockets: at most ioEntries sockets start per turn (the
 * rest start next turn, in order), sockets without CONNECT are bounded (the oldest goes), settled
 * connections stop counting, and after close() every socket is destroyed.
 */
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {Admission} from '../../src/broker/admission.js'
import type {ClientSocket} from '../../src/broker/client-socket.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'

interface Fake {
  remote: string
  destroyed: boolean
  destroy(): void
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

function setup(ioEntries: number, maxPendingConnects: number) {
  const stats = new BrokerStats()
  const opened: Fake[] = []
  let reached = 0
  const admission = new Admission<Fake>({
    ioEntries,
    maxPendingConnects,
    stats,
    reached: () => reached++,
    logDebug: () => {},
    open: (socket) => {
      const conn: Fake = {
        remote: (socket as unknown as {name: string}).name,
        destroyed: false,
        destroy() {
          conn.destroyed = true
        },
      }
      opened.push(conn)
      return conn
    },
  })
  return {admission, stats, opened, reached: () => reached}
}

function socket(name: string): ClientSocket {
  const s = new PassThrough() as unknown as ClientSocket & {name: string}
  s.name = name
  s.pause()
  return s
}

describe('Admission', () => {
  it('ioEntries sockets start per turn; the others wait a turn, in order, and are resumed when they start', async () => {
    const {admission, opened} = setup(2, 100)
    const sockets = ['a', 'b', 'c', 'd', 'e'].map(socket)
    for (const s of sockets) admission.accept(s)
    expect(opened.map((c) => c.remote)).toEqual(['a', 'b'])
    expect(sockets[0].isPaused()).toBe(false)
    expect(sockets[2].isPaused()).toBe(true)
    expect(sockets[2].listenerCount('error')).toBe(1) // a waiting socket's error cannot crash the process
    await turn()
    expect(opened.map((c) => c.remote)).toEqual(['a', 'b', 'c', 'd'])
    expect(sockets[2].listenerCount('error')).toBe(0)
    await turn()
    expect(opened.map((c) => c.remote)).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('past maxPendingConnects the oldest socket without CONNECT is closed; settled ones do not count', async () => {
    const {admission, stats, opened, reached} = setup(100, 2)
    for (const n of ['a', 'b']) admission.accept(socket(n))
    expect(stats.pendingConnects).toBe(2)
    admission.settled(opened[1]) // b sent CONNECT
    expect(stats.pendingConnects).toBe(1)
    admission.accept(socket('c'))
    expect(opened.some((c) => c.destroyed)).toBe(false)
    admission.accept(socket('d'))
    expect(opened.filter((c) => c.destroyed).map((c) => c.remote)).toEqual(['a'])
    expect(reached()).toBe(1)
    expect(stats.pendingConnects).toBe(2)
  })

  it('a socket destroyed while it waited is not opened', async () => {
    const {admission, opened} = setup(1, 10)
    admission.accept(socket('a'))
    const late = socket('b')
    admission.accept(late)
    late.destroy()
    await turn()
    expect(opened.map((c) => c.remote)).toEqual(['a'])
  })

  it('close(): waiting sockets and later ones are destroyed', () => {
    const {admission, opened} = setup(1, 10)
    admission.accept(socket('a'))
    const waiting = socket('b')
    admission.accept(waiting)
    admission.close()
    expect(waiting.destroyed).toBe(true)
    const after = socket('c')
    admission.accept(after)
    expect(after.destroyed).toBe(true)
    expect(opened.map((c) => c.remote)).toEqual(['a'])
  })
})
