/**
 * A connection's acks waiting for the store (SEAMS.md "Store durability"): once one ack waits,
 * everything written to the connection after it (later acks, PINGRESP, deliveries) is held behind
 * it, so CONNACK stays first and acks stay in order [MQTT-4.6.0-2]. A connection has an AckGates
 * only while an ack waits (the common case has none, and costs one field check per write).
 */
import type {Store} from './persistence/store.js'

/** What the gates need of their connection (Connection implements it). */
export interface GatedConnection {
  /** false once the connection is closing or closed. */
  readonly open: boolean
  write(buf: Buffer): void
  internalError(doing: string, err: unknown): void
  /** No ack waits any more (or the connection closed): the connection drops `gates`. */
  acksDone(gates: AckGates): void
}

/** An ack (or CONNACK) waiting for the store, and what was written to the connection after it. */
interface Gate {
  ready: boolean
  err: Error | undefined
  send: (err?: Error) => void
  after: Buffer[] | undefined
}

export class AckGates {
  /** Waiting acks, oldest first. */
  readonly #gates: Gate[] = []
  /** Bytes written behind a waiting ack. */
  heldBytes = 0
  /** While true, writes go straight to the connection (releasing, or a DISCONNECT that waits for nothing). */
  releasing = false
  readonly #conn: GatedConnection

  constructor(conn: GatedConnection) {
    this.#conn = conn
  }

  /** Acks waiting. */
  get length(): number {
    return this.#gates.length
  }

  /** Holds one packet behind the newest waiting ack (a shared tail is joined: one packet, counted once). */
  hold(buf: Buffer, tail: Buffer | undefined): void {
    const last = this.#gates[this.#gates.length - 1]
    const after = (last.after ??= [])
    if (tail === undefined) after.push(buf)
    else after.push(Buffer.concat([buf, tail]))
    this.heldBytes += buf.length + (tail?.length ?? 0)
  }

  /** An ack with nothing to wait for, behind those that wait. */
  addReady(send: (err?: Error) => void): void {
    this.#gates.push({ready: true, err: undefined, send, after: undefined})
  }

  /** An ack that waits until `seq` is durable in `store`. */
  addWaiting(store: Store, seq: number, send: (err?: Error) => void): void {
    const gate: Gate = {ready: false, err: undefined, send, after: undefined}
    this.#gates.push(gate)
    store.whenDurable(seq, (err) => {
      gate.ready = true
      gate.err = err
      this.#release()
    })
  }

  #release(): void {
    const gates = this.#gates
    if (this.releasing) return
    const conn = this.#conn
    this.releasing = true
    try {
      while (gates.length > 0 && gates[0].ready && conn.open) {
        const gate = gates.shift()!
        try {
          gate.send(gate.err)
        } catch (err) {
          conn.internalError('acknowledging for', err)
        }
        if (gate.after !== undefined) {
          for (const buf of gate.after) {
            this.heldBytes -= buf.length
            conn.write(buf)
          }
        }
      }
    } finally {
      this.releasing = false
    }
    if (!conn.open || gates.length === 0) conn.acksDone(this)
  }
}
