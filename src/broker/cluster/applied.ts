/**
 * Which JetStream copies (./durable.ts) this node applied but has not seen acknowledged yet, kept in
 * the node's own store so that they survive a crash: a copy that JetStream sends again after a
 * restart (the node died between writing the deliveries and acknowledging the copy) is recognised
 * and acknowledged without a second delivery. This is what makes QoS 2 across nodes exactly once
 * through a kill -9 of the receiving node.
 *
 * One record per copy, written right after the copy's deliveries, so the store's journal makes both
 * durable in the same batch (a record that survived means its deliveries did; the journal is a
 * prefix of what was written), and the copy is acknowledged only once that batch is durable. The
 * record is deleted once the consumer's acknowledgement floor in JetStream passed it (read every few
 * hundred acks and at start: prune), so about MAX_ACK_PENDING records exist at most (bounded here
 * by MAX_MARKS).
 *
 * The record goes through the Store interface as a retained message under a topic no client can
 * name or match: it starts with "$" (wildcards never match it) followed by U+0000, which no MQTT
 * topic name or filter may contain. Store-level retained counts leave them out (./acks.ts).
 * Key: the copy's stream sequence; payload: its message id (Mqtt-Id), so a sequence reused by a
 * re-created stream does not match a stale record.
 */
import type {Store} from '../persistence/store.js'

export const APPLIED_ROOT = '$\u0000mqttctl-cluster-applied'
/** Records kept at most: beyond, the oldest (lowest sequence) go first. */
export const MAX_MARKS = 20_000

export class AppliedMarks {
  readonly #store: Store
  /** stream sequence -> message id */
  readonly #marks = new Map<number, string>()

  readonly #changed: () => void

  /** `changed`: after each write (a store that counts retained messages in the broker's figures counted this one too). */
  constructor(store: Store, changed: () => void = () => {}) {
    this.#store = store
    this.#changed = changed
  }

  get size(): number {
    return this.#marks.size
  }

  /** Reads the records the store kept (after Store.open). */
  load(now: number): void {
    this.#marks.clear()
    for (const r of this.#store.matchRetained(`${APPLIED_ROOT}/+`, now)) {
      const seq = Number(r.topic.slice(APPLIED_ROOT.length + 1))
      if (Number.isSafeInteger(seq) && seq > 0 && r.payload.length <= 64) this.#marks.set(seq, r.payload.toString())
      else this.#store.deleteRetained(r.topic)
    }
  }

  /** Copies up to `floor` were acknowledged: their records are no longer needed. */
  prune(floor: number): void {
    for (const seq of [...this.#marks.keys()]) if (seq <= floor) this.done(seq)
  }

  /** Was this copy (stream sequence and message id) applied here already? */
  has(seq: number, id: string): boolean {
    return this.#marks.get(seq) === id
  }

  /** The copy's deliveries were just written: record it in the same batch. */
  mark(seq: number, id: string): void {
    if (this.#marks.size >= MAX_MARKS && !this.#marks.has(seq)) {
      let lowest = Infinity
      for (const s of this.#marks.keys()) if (s < lowest) lowest = s
      this.done(lowest)
    }
    this.#marks.set(seq, id)
    this.#store.setRetained({topic: `${APPLIED_ROOT}/${seq}`, payload: Buffer.from(id), qos: 0})
    this.#changed()
  }

  /** JetStream has the acknowledgement (or the copy was not applied after all): forget it. */
  done(seq: number): void {
    if (!this.#marks.delete(seq)) return
    this.#store.deleteRetained(`${APPLIED_ROOT}/${seq}`)
    this.#changed()
  }
}
