/**
 * The replay target of a load: absolute changes by key (codec.ts says why replay order makes this
 * exact), then finish() turns it into the store's session records.
 */
import {type Delivery, type Message, messageBytes} from '../message.js'
import type {RetainedMessage} from '../retained.js'
import {internOptions} from '../topics/options.js'
import {type Rec, T} from './codec.js'
import {newSession, putIncoming, putInflight, takeIncoming, takeInflight} from './session-record.js'
import type {SessionRecord} from './store.js'

/**
 * A loading session. Its queue: queue ids and deliveries in two arrays, in id order (ids only grow
 * in a journal and a snapshot writes a queue in order), a removed one left as a hole (undefined) found
 * by binary search; no Map per session, no sort at the end. A queue id that does not come after the
 * last (a journal replayed over a snapshot that already has it) replaces or goes in its place.
 */
class LoadSession {
  readonly qids: number[] = []
  readonly items: Array<Delivery | undefined> = []
  constructor(readonly rec: SessionRecord) {}

  /** Index of `qid` in qids, or -(insertion point) - 1. */
  #find(qid: number): number {
    const q = this.qids
    let lo = 0
    let hi = q.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const v = q[mid]
      if (v < qid) lo = mid + 1
      else if (v > qid) hi = mid - 1
      else return mid
    }
    return -lo - 1
  }

  enqueue(qid: number, d: Delivery): void {
    const q = this.qids
    if (q.length === 0 || qid > q[q.length - 1]) {
      q.push(qid)
      this.items.push(d)
      return
    }
    const i = this.#find(qid)
    if (i >= 0) this.items[i] = d
    else {
      q.splice(-i - 1, 0, qid)
      this.items.splice(-i - 1, 0, d)
    }
  }

  dequeue(qid: number): void {
    const i = this.#find(qid)
    if (i >= 0) this.items[i] = undefined
  }
}

export class LoadState {
  readonly sessions = new Map<string, LoadSession>()
  readonly retained = new Map<string, RetainedMessage>()
  readonly msgs = new Map<number, Message>()
  maxId = 0
  // The session and the message of the last record: a snapshot writes a session's records one after
  // another, and a message's body right before its first delivery (two Map lookups saved per message).
  #lastKey = ''
  #lastSession: LoadSession | undefined
  #lastMsgId = -1
  #lastMsg: Message | undefined

  /** The loading session with this id (the key16 strings of consecutive records are one string). */
  #session(clientId: string): LoadSession | undefined {
    if (clientId === this.#lastKey) return this.#lastSession
    const ls = this.sessions.get(clientId)
    this.#lastKey = clientId
    this.#lastSession = ls
    return ls
  }

  #msg(id: number): Message | undefined {
    return id === this.#lastMsgId ? this.#lastMsg : this.msgs.get(id)
  }

  apply(rec: Rec): void {
    switch (rec.t) {
      case T.Header:
      case T.SnapEnd:
        return
      case T.SessionNew:
      case T.Session: {
        let ls = this.sessions.get(rec.clientId)
        if (ls === undefined || rec.t === T.SessionNew) {
          ls = new LoadSession(newSession(rec.clientId, 0))
          this.sessions.set(rec.clientId, ls)
          this.#lastKey = rec.clientId
          this.#lastSession = ls
        }
        const s = ls.rec
        s.expiryInterval = rec.expiryInterval
        s.disconnectedAt = rec.disconnectedAt
        s.willAt = rec.willAt
        s.pendingWill = rec.pendingWill
        if (rec.pendingWill === undefined) delete s.pendingWill
        s.connectionWill = rec.connectionWill
        return
      }
      case T.SessionDel:
        this.sessions.delete(rec.clientId)
        this.#lastKey = ''
        this.#lastSession = undefined
        return
      case T.Sub:
        this.#session(rec.clientId)?.rec.subscriptions.set(rec.filter, internOptions(rec.options))
        return
      case T.Unsub:
        this.#session(rec.clientId)?.rec.subscriptions.delete(rec.filter)
        return
      case T.Msg:
        this.msgs.set(rec.msgId, rec.msg)
        this.#lastMsgId = rec.msgId
        this.#lastMsg = rec.msg
        if (rec.msgId > this.maxId) this.maxId = rec.msgId
        return
      case T.Queue: {
        const ls = this.#session(rec.clientId)
        const msg = this.#msg(rec.msgId)
        if (rec.qid > this.maxId) this.maxId = rec.qid
        if (ls === undefined || msg === undefined) return
        ls.enqueue(rec.qid, delivery(rec, msg, 0, false, rec.qid))
        return
      }
      case T.Dequeue:
        this.#session(rec.clientId)?.dequeue(rec.qid)
        return
      case T.Inflight: {
        const ls = this.#session(rec.clientId)
        const msg = this.#msg(rec.msgId)
        if (ls === undefined || msg === undefined) return
        if (rec.fromQid !== 0) ls.dequeue(rec.fromQid)
        putInflight(ls.rec, delivery(rec, msg, rec.packetId, rec.released, undefined))
        return
      }
      case T.InflightDel:
      case T.Incoming:
      case T.IncomingDel: {
        const s = this.#session(rec.clientId)?.rec
        if (s === undefined) return
        if (rec.t === T.InflightDel) takeInflight(s, rec.packetId)
        else if (rec.t === T.Incoming) putIncoming(s, rec.packetId)
        else takeIncoming(s, rec.packetId)
        return
      }
      case T.Retain: {
        const r: RetainedMessage = {topic: rec.topic, payload: rec.payload, qos: rec.qos}
        if (rec.properties !== undefined) r.properties = rec.properties
        if (rec.expiresAt !== 0) r.expiresAt = rec.expiresAt
        if (rec.raw !== undefined) (r as {raw?: Buffer}).raw = rec.raw
        this.retained.set(rec.topic, r)
        return
      }
      case T.RetainDel:
        this.retained.delete(rec.topic)
        return
    }
  }

  /**
   * The loaded sessions as store records: queues in id order with their byte counts, packet ids past
   * the in-flight ones. A session that was connected when the broker went down (at `downAt`) is
   * disconnected from then on (a crash ends every connection without DISCONNECT): its connection's
   * will becomes its pending will, due `delay` seconds after `downAt`; `crashed` gets it.
   */
  *finish(downAt: number, crashed: SessionRecord[]): Generator<SessionRecord> {
    for (const ls of this.sessions.values()) {
      const s = ls.rec
      if (s.disconnectedAt === 0) {
        s.disconnectedAt = downAt
        const will = s.connectionWill
        s.connectionWill = undefined
        if (will !== undefined) {
          s.pendingWill = will
          s.willAt = downAt + will.delay * 1000
        }
        crashed.push(s)
      }
      const queue: Delivery[] = []
      const items = ls.items
      for (let i = 0; i < items.length; i++) {
        const d = items[i]
        if (d === undefined) continue
        s.queuedBytes += messageBytes(d)
        queue.push(d)
      }
      if (queue.length > 0) s.queue = queue
      if (s.inflight !== undefined) for (const id of s.inflight.keys()) s.lastPacketId = Math.max(s.lastPacketId, id)
      yield s
    }
  }
}

/**
 * A loaded delivery, its fields in the order Outbound creates them and the durable store adds
 * storeQid (in the literal: no property backing store allocated per delivery afterwards).
 */
function delivery(ref: {qos: 0 | 1 | 2; retain: boolean; subscriptionIds?: number[]; shared?: string}, msg: Message, packetId: number, released: boolean, storeQid: number | undefined): Delivery {
  return {msg, qos: ref.qos, retain: ref.retain, subscriptionIds: ref.subscriptionIds, packetId, released, sent: packetId !== 0, shared: ref.shared, storeQid}
}
