/**
 * Which local filters belong to persistent sessions subscribed at QoS 1/2: the ones other nodes send
 * through JetStream (./durable.ts). Watches the broker's Subscriptions service (its add / remove /
 * removeAll / restore / unrestore, wrapped on this instance only) and tells `sink` when a
 * (client, filter) pair becomes durable interest or stops being it. A session is persistent when its
 * expiry interval is above 0 at the time it subscribes; shared subscriptions stay on core NATS.
 * DurableInterest (./durable-interest.ts) counts them and shares them with the other nodes.
 */
import type {SessionRecord} from '../persistence/store.js'
import type {Subscriptions} from '../subscriptions.js'
import type {SubOptions} from '../topics/types.js'
import type {DurableSink} from './durable-interest.js'

/**
 * `changed(session, ended)`: a session's subscriptions changed (ended: its subscriptions are all gone:
 * the session ended or left this node); restores are not changes (./directory.ts records them after a check).
 */
export function watchDurableSubscriptions(subs: Subscriptions, sink: DurableSink, changed?: (session: SessionRecord, ended: boolean) => void): void {
  /** client id -> its durable filters. */
  const held = new Map<string, Set<string>>()
  const update = (session: SessionRecord, filter: string, options: SubOptions | undefined): void => {
    const durable = options !== undefined && options.qos > 0 && session.expiryInterval > 0 && !filter.startsWith('$share/')
    let set = held.get(session.clientId)
    const had = set?.has(filter) ?? false
    if (durable === had) return
    if (durable) {
      if (set === undefined) held.set(session.clientId, (set = new Set()))
      set.add(filter)
      sink.added(filter)
    } else {
      set!.delete(filter)
      if (set!.size === 0) held.delete(session.clientId)
      sink.removed(filter)
    }
  }
  const dropAll = (session: SessionRecord): void => {
    const set = held.get(session.clientId)
    if (set === undefined) return
    held.delete(session.clientId)
    for (const f of set) sink.removed(f)
  }
  const {add, remove, removeAll, restore, unrestore} = subs
  subs.add = function (session, filter, options) {
    const r = add.call(this, session, filter, options)
    update(session, filter, options)
    changed?.(session, false)
    return r
  }
  subs.remove = function (session, filter) {
    const r = remove.call(this, session, filter)
    update(session, filter, undefined)
    changed?.(session, false)
    return r
  }
  subs.removeAll = function (session) {
    dropAll(session)
    removeAll.call(this, session)
    changed?.(session, true)
  }
  subs.restore = function (session) {
    restore.call(this, session)
    for (const [filter, options] of session.subscriptions) update(session, filter, options)
  }
  subs.unrestore = function (session) {
    dropAll(session)
    unrestore.call(this, session)
    changed?.(session, true)
  }
}

