/**
 * client-socket.ts: the shared listeners hand a socket's events to its owner until 'close' (then
 * never again), and writeShared joins runs of small buffers while writing large shared payloads by
 * reference, under one cork.
 */
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {type ClientSocket, ownSocket, type SocketOwner, writeShared} from '../../src/broker/client-socket.js'
import {SHARE_PAYLOAD_BYTES} from '../../src/broker/encode.js'

class Recorder implements SocketOwner {
  readonly events: string[] = []
  onData(chunk: Buffer): void {
    this.events.push(`data ${chunk.toString()}`)
  }
  onDrain(): void {
    this.events.push('drain')
  }
  onSocketError(err: NodeJS.ErrnoException): void {
    this.events.push(`error ${err.message}`)
  }
  onClose(): void {
    this.events.push('close')
  }
}

describe('ownSocket', () => {
  it('routes data, drain, error and close to the owner; nothing after close', () => {
    const socket = new PassThrough() as unknown as ClientSocket
    const owner = new Recorder()
    ownSocket(socket, owner)
    socket.emit('data', Buffer.from('x'))
    socket.emit('drain')
    socket.emit('error', new Error('reset'))
    socket.emit('close')
    socket.emit('data', Buffer.from('late'))
    socket.emit('close')
    expect(owner.events).toEqual(['data x', 'drain', 'error reset', 'close'])
  })

  it('two sockets, two owners: the listeners are shared, the owners are not mixed up', () => {
    const [a, b] = [new PassThrough(), new PassThrough()] as unknown as ClientSocket[]
    const [oa, ob] = [new Recorder(), new Recorder()]
    ownSocket(a, oa)
    ownSocket(b, ob)
    expect(a.listeners('data')[0]).toBe(b.listeners('data')[0]) // no per-connection closure
    b.emit('data', Buffer.from('to b'))
    expect(oa.events).toEqual([])
    expect(ob.events).toEqual(['data to b'])
  })
})

describe('writeShared', () => {
  function fakeSocket(okAfter = Infinity) {
    const writes: Buffer[] = []
    const calls: string[] = []
    const socket = {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
      write: (b: Buffer) => {
        writes.push(b)
        calls.push('write')
        return writes.length <= okAfter
      },
    } as unknown as ClientSocket
    return {socket, writes, calls}
  }

  it('small buffers around a large shared payload: two joined runs and the payload itself, under one cork', () => {
    const big = Buffer.alloc(SHARE_PAYLOAD_BYTES, 7)
    const out = [Buffer.from('a'), Buffer.from('b'), big, Buffer.from('c'), Buffer.from('d')]
    const {socket, writes, calls} = fakeSocket()
    expect(writeShared(socket, out)).toBe(true)
    expect(writes.map((w) => (w === big ? 'BIG' : w.toString()))).toEqual(['ab', 'BIG', 'cd'])
    expect(writes[1]).toBe(big) // by reference, not copied
    expect(calls[0]).toBe('cork')
    expect(calls.at(-1)).toBe('uncork')
  })

  it('a single small buffer in a run is written as it is; the last write decides the result', () => {
    const big = Buffer.alloc(SHARE_PAYLOAD_BYTES)
    const small = Buffer.from('x')
    const {socket, writes} = fakeSocket(1)
    expect(writeShared(socket, [small, big])).toBe(false)
    expect(writes[0]).toBe(small)
    expect(writes[1]).toBe(big)
  })
})
