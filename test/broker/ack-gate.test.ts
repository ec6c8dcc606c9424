/**
 * AckGates (src/broker/ack-gate.ts) without a broker: a fake connection records what it is written,
 * a ManualStore decides when the store is durable. Acks go out in order, what was written behind a
 * waiting ack follows it, a failure reaches the ack's sender, and a closed connection drops the rest.
 */
import {describe, expect, it} from 'vitest'
import {AckGates, type GatedConnection} from '../../src/broker/ack-gate.js'
import {ManualStore} from '../helpers/fakes.js'

class FakeConn implements GatedConnection {
  open = true
  gates: AckGates | undefined
  readonly wire: string[] = []
  readonly faults: unknown[] = []
  write(buf: Buffer): void {
    if (this.gates !== undefined && !this.gates.releasing) this.gates.hold(buf, undefined)
    else this.wire.push(buf.toString())
  }
  internalError(_doing: string, err: unknown): void {
    this.faults.push(err)
  }
  acksDone(gates: AckGates): void {
    if (this.gates === gates) this.gates = undefined
  }
}

function setup() {
  const conn = new FakeConn()
  const store = new ManualStore()
  conn.gates = new AckGates(conn)
  return {conn, store, gates: conn.gates}
}

const send = (conn: FakeConn, text: string) => (err?: Error) => conn.wire.push(err ? `${text}:${err.message}` : text)

describe('AckGates', () => {
  it('an ack waits for its seq; what is written after it is held, then follows it in order', () => {
    const {conn, store, gates} = setup()
    store.writeSeq = 1
    gates.addWaiting(store, 1, send(conn, 'puback 1'))
    conn.write(Buffer.from('delivery a'))
    gates.addReady(send(conn, 'puback 2')) // nothing to wait for, but behind the first
    conn.write(Buffer.from('pingresp'))
    expect(conn.wire).toEqual([])
    expect(gates.length).toBe(2)
    expect(gates.heldBytes).toBe('delivery a'.length + 'pingresp'.length)

    store.release()
    expect(conn.wire).toEqual(['puback 1', 'delivery a', 'puback 2', 'pingresp'])
    expect(conn.gates).toBeUndefined() // none waits: the connection dropped the gates
    expect(gates.heldBytes).toBe(0)
  })

  it('a later ack that becomes durable first still waits for the earlier one', () => {
    const {conn, store, gates} = setup()
    const early = new ManualStore()
    store.writeSeq = 1
    gates.addWaiting(store, 1, send(conn, 'first'))
    early.writeSeq = 1
    gates.addWaiting(early, 1, send(conn, 'second'))
    early.release()
    expect(conn.wire).toEqual([])
    store.release()
    expect(conn.wire).toEqual(['first', 'second'])
  })

  it('a failed write reaches the ack as an error; an ack that throws is an internal error and the rest go on', () => {
    const {conn, store, gates} = setup()
    store.writeSeq = 1
    const bug = new Error('bug')
    gates.addWaiting(store, 1, () => {
      throw bug
    })
    gates.addWaiting(store, 1, send(conn, 'suback'))
    store.fail(new Error('disk full'))
    expect(conn.faults).toEqual([bug])
    expect(conn.wire).toEqual(['suback:disk full'])
  })

  it('closed while an ack waits: nothing more is sent and the gates are dropped', () => {
    const {conn, store, gates} = setup()
    store.writeSeq = 1
    gates.addWaiting(store, 1, send(conn, 'connack'))
    conn.write(Buffer.from('held'))
    conn.open = false
    store.release()
    expect(conn.wire).toEqual([])
    expect(conn.gates).toBeUndefined()
  })

  it('a shared payload held behind an ack is joined to its packet (counted once)', () => {
    const {conn, store, gates} = setup()
    store.writeSeq = 1
    gates.addWaiting(store, 1, send(conn, 'ack'))
    gates.hold(Buffer.from('head|'), Buffer.from('payload'))
    expect(gates.heldBytes).toBe(12)
    store.release()
    expect(conn.wire).toEqual(['ack', 'head|payload'])
  })
})
