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

interface LoadSession {
  rec: SessionRecord
  /** By queue id; in insertion order, which is id order unless `unsorted`. */
  queue: Map<number, Delivery>
  lastQid: number
  unsorted: boolean
}

export class LoadState {
  readonly sessions = new Map<string, LoadSession>()
  readonly retained = new Map<string, RetainedMessage>()
  readonly msgs = new Map<number, Message>()
  maxId = 0

  apply(rec: Rec): void {
    switch (rec.t) {
      case T.Header:
      case T.SnapEnd:
        return
      case T.SessionNew:
      case T.Session: {
        let ls = this.sessions.get(rec.clientId)
        if (ls === undefined || rec.t === T.SessionNew) {
          ls = {rec: newSession(rec.clientId, 0), queue: new Map(), lastQid: 0, unsorted: false}
          this.sessions.set(rec.clientId, ls)
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
        return
      case T.Sub:
        this.sessions.get(rec.clientId)?.rec.subscriptions.set(rec.filter, internOptions(rec.options))
        return
      case T.Unsub:
        this.sessions.get(rec.clientId)?.rec.subscriptions.delete(rec.filter)
        return
      case T.Msg:
        this.msgs.set(rec.msgId, rec.msg)
        if (rec.msgId > this.maxId) this.maxId = rec.msgId
        return
      case T.Queue: {
        const ls = this.sessions.get(rec.clientId)
        const msg = this.msgs.get(rec.msgId)
        if (rec.qid > this.maxId) this.maxId = rec.qid
        if (ls === undefined || msg === undefined) return
        if (rec.qid < ls.lastQid) ls.unsorted = true
        ls.lastQid = rec.qid
        ls.queue.set(rec.qid, delivery(rec, msg, 0, false))
        return
      }
      case T.Dequeue:
        this.sessions.get(rec.clientId)?.queue.delete(rec.qid)
        return
      case T.Inflight: {
        const ls = this.sessions.get(rec.clientId)
        const msg = this.msgs.get(rec.msgId)
        if (ls === undefined || msg === undefined) return
        if (rec.fromQid !== 0) ls.queue.delete(rec.fromQid)
        putInflight(ls.rec, delivery(rec, msg, rec.packetId, rec.released))
        return
      }
      case T.InflightDel:
      case T.Incoming:
      case T.IncomingDel: {
        const s = this.sessions.get(rec.clientId)?.rec
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
      if (ls.queue.size > 0) {
        const qids = [...ls.queue.keys()]
        if (ls.unsorted) qids.sort((a, b) => a - b)
        s.queue = qids.map((q) => {
          const d = ls.queue.get(q)!
          d.storeQid = q
          s.queuedBytes += messageBytes(d)
          return d
        })
      }
      if (s.inflight !== undefined) for (const id of s.inflight.keys()) s.lastPacketId = Math.max(s.lastPacketId, id)
      yield s
    }
  }
}

/** A loaded delivery, its fields in the order Outbound creates them (one hidden class). */
function delivery(ref: {qos: 0 | 1 | 2; retain: boolean; subscriptionIds?: number[]; shared?: string}, msg: Message, packetId: number, released: boolean): Delivery {
  return {msg, qos: ref.qos, retain: ref.retain, subscriptionIds: ref.subscriptionIds, packetId, released, sent: packetId !== 0, shared: ref.shared}
}
