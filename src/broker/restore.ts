/**
 * A store with persisted sessions, at listen(): their subscriptions go back into the index, their
 * expiry is scheduled, and the statistics start from what was kept. undoRestore() takes it back when
 * listen() fails.
 */
import type {Store} from './persistence/store.js'
import type {Sessions} from './sessions/sessions.js'
import type {BrokerStats} from './stats/counters.js'
import type {Subscriptions} from './subscriptions.js'

export interface RestoreDeps {
  store: Store
  subscriptions: Subscriptions
  sessions: Sessions
  stats: BrokerStats
}

export function restoreSessions({store, subscriptions, sessions, stats}: RestoreDeps, now: number): void {
  let orphans = 0
  let queued = 0
  for (const session of store.sessions()) {
    subscriptions.restore(session)
    if (session.disconnectedAt === 0) session.disconnectedAt = now
    sessions.restored(session)
    queued += session.queue?.length ?? 0
    orphans++
  }
  stats.messagesQueued = queued
  // Assigned, not added: nobody is connected yet, so every stored session is an orphan.
  stats.sessionsOrphan = orphans
  stats.sessionsTotal = store.sessionCount
  stats.retainedMessages = store.retainedCount
}

/** A failed listen(): the restored subscriptions leave the index again. */
export function undoRestore({store, subscriptions, sessions, stats}: RestoreDeps): void {
  for (const session of store.sessions()) {
    subscriptions.unrestore(session)
    sessions.deadlines.cancel(session)
  }
  stats.sessionsOrphan = 0
}
