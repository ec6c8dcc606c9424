/**
 * The durable store's retained messages: the RetainedIndex (a trie) plus a journal record per change.
 * `$SYS/...` retained messages are the broker's statistics, published again every tick: never journaled.
 */
import {type RetainedMessage, RetainedIndex} from '../retained.js'
import {type RecordWriter, writeRetain, writeRetainDel} from './encode.js'

export function isSys(topic: string): boolean {
  return topic.startsWith('$SYS/')
}

export class JournaledRetained {
  readonly #index = new RetainedIndex()
  readonly #begin: () => RecordWriter

  constructor(begin: () => RecordWriter) {
    this.#begin = begin
  }

  /** Loaded from disk: not journaled again. */
  load(msg: RetainedMessage): void {
    this.#index.set(msg)
  }

  set(msg: RetainedMessage): void {
    if (msg.payload.length === 0) return void this.delete(msg.topic)
    this.#index.set(msg)
    if (!isSys(msg.topic)) writeRetain(this.#begin(), msg.topic, msg.payload, msg.qos, msg.properties, msg.expiresAt ?? 0, (msg as {raw?: Buffer}).raw)
  }

  delete(topic: string): boolean {
    if (!this.#index.delete(topic)) return false
    if (!isSys(topic)) writeRetainDel(this.#begin(), topic)
    return true
  }

  /** Live matches at `now`; the expired ones are deleted (on disk too) and pushed to `expired`. */
  match(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    const gone: RetainedMessage[] = []
    const out = this.#index.match(filter, now, gone)
    for (const m of gone) {
      if (!isSys(m.topic)) writeRetainDel(this.#begin(), m.topic)
      expired?.push(m)
    }
    return out
  }

  all(): Iterable<RetainedMessage> {
    return this.#index.all()
  }

  get size(): number {
    return this.#index.size
  }
}
