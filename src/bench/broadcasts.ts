/**
 * Per-broadcast bookkeeping for fanout: how many subscribers got broadcast `seq` and the latest
 * arrival (µs after it was sent). Shares merge by sum and max, so a broadcast split over several
 * worker processes still yields its time to the last delivery.
 */
import {Histogram} from './histogram.js'

export interface BroadcastsJSON {
  counts: number[]
  maxMicros: number[]
}

export class Broadcasts {
  counts: number[] = []
  maxMicros: number[] = []

  record(seq: number, micros: number): void {
    if (seq > 10_000_000) return
    while (this.counts.length <= seq) {
      this.counts.push(0)
      this.maxMicros.push(0)
    }
    this.counts[seq]++
    if (micros > this.maxMicros[seq]) this.maxMicros[seq] = micros
  }

  countOf(seq: number): number {
    return this.counts[seq] ?? 0
  }

  merge(other: BroadcastsJSON): void {
    other.counts.forEach((n, seq) => {
      while (this.counts.length <= seq) {
        this.counts.push(0)
        this.maxMicros.push(0)
      }
      this.counts[seq] += n
      this.maxMicros[seq] = Math.max(this.maxMicros[seq], other.maxMicros[seq])
    })
  }

  /** Completion times of the broadcasts every subscriber received, and how many fell short. */
  completion(subscribers: number, sent: number): {complete: Histogram; incomplete: number} {
    const complete = new Histogram()
    let incomplete = 0
    for (let seq = 0; seq < sent; seq++) {
      if ((this.counts[seq] ?? 0) >= subscribers) complete.record(this.maxMicros[seq])
      else incomplete++
    }
    return {complete, incomplete}
  }

  toJSON(): BroadcastsJSON {
    return {counts: this.counts, maxMicros: this.maxMicros}
  }
}
