/**
 * One coarse deadline wheel per kind of timed thing (connections: connect timeout and keep alive;
 * sessions: will delay and expiry). No per-connection timers and no polling: items sit in
 * one-second buckets, one unref'd timer is armed for the earliest bucket only while any is pending,
 * and activity only moves a field (the item is re-filed lazily when its bucket comes due).
 * Time and the timer come from the injected Clock (./clock.ts).
 */
import {type Clock, type TimerHandle, systemClock} from './clock.js'

export interface Timed {
  /** ms epoch of the item's deadline, 0 = none. Written by the owner; read when its bucket is due. */
  deadline: number
  /** Bucket (second) the item is filed under, 0 = not filed. Owned by Deadlines. */
  bucket: number
}

const SECOND = 1000

function reportError(err: unknown): void {
  console.error(`Deadline callback failed: ${(err as Error)?.stack ?? err}`)
}

export class Deadlines<T extends Timed> {
  readonly #buckets = new Map<number, Set<T>>()
  #timer: TimerHandle | undefined
  #armedFor = 0
  readonly #onDue: (item: T, now: number) => void
  readonly #clock: Clock
  readonly #fire = (): void => {
    this.#timer = undefined
    this.#armedFor = 0
    this.runDue()
  }
  readonly #onError: (err: unknown, item: T) => void

  /**
   * `onError` receives whatever an onDue call throws: one item's failure is logged by the owner and
   * neither stops the other due items nor escapes from the timer callback (which would end the process).
   */
  constructor(onDue: (item: T, now: number) => void, clock: Clock = systemClock, onError: (err: unknown, item: T) => void = reportError) {
    this.#onDue = onDue
    this.#clock = clock
    this.#onError = onError
  }

  get size(): number {
    let n = 0
    for (const b of this.#buckets.values()) n += b.size
    return n
  }

  /** Sets the item's deadline; it is re-filed only if the new deadline is earlier than its bucket. */
  schedule(item: T, deadline: number): void {
    item.deadline = deadline
    const slot = Math.ceil(deadline / SECOND)
    if (item.bucket !== 0) {
      if (item.bucket <= slot) return // due no later than its bucket: checked then, re-filed lazily
      this.#buckets.get(item.bucket)?.delete(item)
    }
    this.#file(item, slot)
  }

  cancel(item: T): void {
    item.deadline = 0
    if (item.bucket !== 0) this.#buckets.get(item.bucket)?.delete(item)
    item.bucket = 0
  }

  /** Runs every due item now (tests, shutdown). */
  runDue(now = this.#clock.now()): void {
    const slotNow = Math.floor(now / SECOND)
    const due = [...this.#buckets.keys()].filter((s) => s <= slotNow).sort((a, b) => a - b)
    for (const slot of due) {
      const items = this.#buckets.get(slot)!
      this.#buckets.delete(slot)
      for (const item of items) {
        item.bucket = 0
        if (item.deadline === 0) continue
        if (item.deadline > now) this.#file(item, Math.ceil(item.deadline / SECOND))
        else {
          item.deadline = 0
          try {
            this.#onDue(item, now)
          } catch (err) {
            this.#onError(err, item)
          }
        }
      }
    }
    this.#arm()
  }

  clear(): void {
    for (const items of this.#buckets.values()) for (const item of items) item.bucket = 0
    this.#buckets.clear()
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = 0
  }

  #file(item: T, slot: number): void {
    let set = this.#buckets.get(slot)
    if (set === undefined) this.#buckets.set(slot, (set = new Set()))
    set.add(item)
    item.bucket = slot
    if (this.#armedFor === 0 || slot < this.#armedFor) this.#arm()
  }

  #arm(): void {
    let earliest = 0
    for (const slot of this.#buckets.keys()) if (earliest === 0 || slot < earliest) earliest = slot
    if (earliest === this.#armedFor && this.#timer !== undefined) return
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = earliest
    if (earliest === 0) return
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, earliest * SECOND - this.#clock.now()))
  }
}
