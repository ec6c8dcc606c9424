/**
 * What the memory store and the durable store share: the session map and the retained-message
 * delegation (the memory store's RetainedIndex, the durable store's JournaledRetained: the same calls).
 */
import type {RetainedMessage} from '../retained.js'
import type {SessionRecord} from './store.js'

/** The retained-message calls a store passes through. */
export interface RetainedTable {
  set(msg: RetainedMessage): void
  delete(topic: string): boolean
  match(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[]
  readonly size: number
}

export abstract class StoreBase {
  protected readonly sessionMap = new Map<string, SessionRecord>()
  protected abstract readonly retained: RetainedTable

  getSession(clientId: string): SessionRecord | undefined {
    return this.sessionMap.get(clientId)
  }

  sessions(): Iterable<SessionRecord> {
    return this.sessionMap.values()
  }

  get sessionCount(): number {
    return this.sessionMap.size
  }

  setRetained(msg: RetainedMessage): void {
    this.retained.set(msg)
  }

  deleteRetained(topic: string): boolean {
    return this.retained.delete(topic)
  }

  matchRetained(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    return this.retained.match(filter, now, expired)
  }

  get retainedCount(): number {
    return this.retained.size
  }
}
