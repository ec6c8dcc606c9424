/**
 * PUBACK / PUBREC of a QoS 1/2 message that went to NATS wait until the NATS server has it.
 *
 * The handlers already hold a QoS 1/2 acknowledgement until the Store says the operation is durable
 * (Store.writeSeq / whenDurable, see SEAMS.md). This wraps the broker's store so that exporting a
 * QoS 1/2 message also counts as a write: writeSeq = the inner store's + the exports so far, and
 * whenDurable waits for the inner store and for one NATS round trip (PING/PONG: the server has read
 * every message published before it) covering the exports. One round trip serves every ack that
 * arrived meanwhile, so the cost is per batch. A node killed after the PUBACK cannot have lost the
 * message on its way to NATS; what NATS does with it after that is docs/scale-out.md's business.
 * Without the link (messages stay local) nothing extra is waited for.
 *
 * A QoS 1/2 message that also went to JetStream for persistent sessions on other nodes (./durable.ts)
 * carries the promise of JetStream's acknowledgement: the waiters covering it wait for that too, and
 * fail when JetStream refused it (stream full, no stream, timeout): the PUBACK / PUBREC is refused.
 */
import type {Store} from '../persistence/store.js'

export interface Flusher {
  /** Resolves once the NATS server has read everything published so far. */
  flush(): Promise<void>
}

export class ExportAcks {
  #exported = 0
  #flushed = 0
  #flushing = false
  #waiters: Array<{seq: number; cb: (err?: Error) => void}> = []
  /** JetStream acknowledgements still outstanding, by export sequence. */
  readonly #stored = new Map<number, Promise<void>>()
  readonly #flusher: Flusher

  constructor(flusher: Flusher) {
    this.#flusher = flusher
  }

  get seq(): number {
    return this.#exported
  }

  /** A QoS 1/2 message was handed to NATS; `stored`: JetStream's acknowledgement of its copies, if any. */
  exported(stored?: Promise<void>): void {
    const seq = ++this.#exported
    if (stored === undefined) return
    const settled = stored.finally(() => this.#stored.delete(seq))
    settled.catch(() => {}) // observed by the round that covers it
    this.#stored.set(seq, settled)
  }

  /** cb() once every export up to `seq` reached the NATS server. */
  whenFlushed(seq: number, cb: (err?: Error) => void): void {
    if (seq <= this.#flushed) return cb()
    this.#waiters.push({seq, cb})
    this.#run()
  }

  #run(): void {
    if (this.#flushing || this.#waiters.length === 0) return
    this.#flushing = true
    const target = this.#exported
    const waits: Array<Promise<void>> = [this.#flusher.flush()]
    for (const [seq, p] of this.#stored) if (seq <= target) waits.push(p)
    ;(waits.length === 1 ? waits[0] : Promise.all(waits)).then(
      () => this.#done(target),
      (error: unknown) => this.#done(target, error instanceof Error ? error : new Error(String(error))),
    )
  }

  #done(target: number, err?: Error): void {
    this.#flushing = false
    if (err === undefined && target > this.#flushed) this.#flushed = target
    const waiters = this.#waiters
    const keep: typeof waiters = []
    this.#waiters = []
    for (const w of waiters) {
      if (w.seq <= target) w.cb(err)
      else keep.push(w)
    }
    this.#waiters.push(...keep)
    this.#run()
  }
}

/**
 * `inner` with writeSeq / whenDurable covering the NATS exports too, and retainedCount without the
 * `hiddenRetained()` records the cluster keeps there (./applied.ts); every other member is the
 * inner store's own (bound once, so the hot path pays one property lookup).
 */
export function withExportAcks(inner: Store, acks: ExportAcks, hiddenRetained: () => number = () => 0): Store {
  const bound = new Map<PropertyKey, unknown>()
  // Waits for everything written so far (at least `seq`, which is at most the sum now).
  const whenDurable = (_seq: number, cb: (err?: Error) => void): void => {
    const exportSeq = acks.seq
    inner.whenDurable(inner.writeSeq, (err) => (err !== undefined ? cb(err) : acks.whenFlushed(exportSeq, cb)))
  }
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'writeSeq') return target.writeSeq + acks.seq
      if (key === 'whenDurable') return whenDurable
      // The cluster's own bookkeeping records (./applied.ts) are not retained messages.
      if (key === 'retainedCount') return target.retainedCount - hiddenRetained()
      let v = bound.get(key)
      if (v === undefined) {
        v = Reflect.get(target, key, target)
        if (typeof v === 'function') {
          v = (v as (...a: unknown[]) => unknown).bind(target)
          bound.set(key, v)
        } else return v
      }
      return v
    },
  })
}
