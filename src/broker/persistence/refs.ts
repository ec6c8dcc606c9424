/**
 * Message bodies on disk: a message queued for many persistent sessions is written once per journal
 * generation (or once per snapshot) and referenced by id from each queued or in-flight record.
 * Also the ids of queued deliveries (one counter for both).
 */
import {type Message, ownMessage} from '../message.js'
import {type RecordWriter, writeId, writeInflight, writeMsg, writeQueue, writeSub} from './encode.js'
import {T} from './codec.js'
import type {SessionRecord} from './store.js'

interface MsgRef {
  id: number
  /** Generation of the journal its body was last written to (-1: none yet). */
  gen: number
}

export class MessageRefs {
  readonly #msgs = new WeakMap<Message, MsgRef>()
  #nextId = 1

  /** A fresh id (queued deliveries, message bodies). */
  nextId(): number {
    return this.#nextId++
  }

  /** Ids loaded from disk are never handed out again. */
  loaded(maxId: number): void {
    this.#nextId = Math.max(this.#nextId, maxId + 1)
  }

  #refOf(m: Message): MsgRef {
    let ref = this.#msgs.get(m)
    if (ref === undefined) {
      ref = {id: this.#nextId++, gen: -1}
      this.#msgs.set(m, ref)
    }
    return ref
  }

  /** The message's id; its body is written into the journal of generation `gen` first when it is not there yet. */
  inJournal(w: RecordWriter, m: Message, gen: number): number {
    const ref = this.#refOf(m)
    if (ref.gen !== gen) {
      ownMessage(m)
      writeMsg(w, ref.id, m)
      ref.gen = gen
    }
    return ref.id
  }

  /** The message's id; its body is written first when this snapshot (`written`) does not have it yet. */
  inSnapshot(w: RecordWriter, m: Message, written: Set<number>): number {
    const ref = this.#refOf(m)
    if (!written.has(ref.id)) {
      written.add(ref.id)
      ownMessage(m)
      writeMsg(w, ref.id, m)
    }
    return ref.id
  }

  /**
   * Subscriptions, incoming QoS 2 ids, in-flight and queued deliveries of a session: into the journal
   * of generation `gen` (a session that starts to persist), or into a snapshot (`written`).
   */
  writeChildren(w: RecordWriter, s: SessionRecord, gen: number, written?: Set<number>): void {
    const ref = (m: Message) => (written === undefined ? this.inJournal(w, m, gen) : this.inSnapshot(w, m, written))
    for (const [filter, options] of s.subscriptions) writeSub(w, s.clientId, filter, options)
    if (s.incoming !== undefined) for (const id of s.incoming) writeId(w, T.Incoming, s.clientId, id)
    if (s.inflight !== undefined) {
      for (const d of s.inflight.values()) writeInflight(w, s.clientId, d.packetId, 0, d.released, ref(d.msg), d)
    }
    if (s.queue !== undefined) {
      for (const d of s.queue) {
        let qid = d.storeQid
        if (qid === undefined) d.storeQid = qid = this.#nextId++
        writeQueue(w, s.clientId, qid, ref(d.msg), d)
      }
    }
  }
}
