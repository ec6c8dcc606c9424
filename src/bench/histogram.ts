/**
 * Log-linear latency histogram in microseconds (exact below 128 µs, then 64 sub-buckets per power of
 * two: under 1.6 % error). Fixed size, so workers can ship it over IPC and the parent merges it.
 */
const LINEAR = 128
const SUB = 64
const SIZE = LINEAR + 25 * SUB

function bucketOf(micros: number): number {
  const v = Math.min(Math.max(0, Math.round(micros)), 0x7fff_ffff)
  if (v < LINEAR) return v
  const e = 31 - Math.clz32(v) - 6
  return LINEAR + (e - 1) * SUB + ((v >> e) - SUB)
}

function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket
  const e = Math.floor((bucket - LINEAR) / SUB) + 1
  const m = ((bucket - LINEAR) % SUB) + SUB
  // Middle of the bucket.
  return (m << e) + (1 << (e - 1))
}

export interface Percentiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

export class Histogram {
  counts = new Float64Array(SIZE)
  count = 0
  max = 0
  sum = 0

  record(micros: number): void {
    this.counts[bucketOf(micros)]++
    this.count++
    this.sum += micros
    if (micros > this.max) this.max = micros
  }

  merge(other: {counts: ArrayLike<number>; count: number; max: number; sum: number}): void {
    for (let i = 0; i < SIZE; i++) this.counts[i] += other.counts[i]
    this.count += other.count
    this.sum += other.sum
    if (other.max > this.max) this.max = other.max
  }

  percentile(p: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil((p / 100) * this.count)
    let seen = 0
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]
      if (seen >= rank) return Math.min(valueOf(i), this.max)
    }
    return this.max
  }

  /** Percentiles in milliseconds, or null when nothing was recorded. */
  summary(): Percentiles | null {
    if (this.count === 0) return null
    const ms = (us: number) => Math.round(us) / 1000
    return {
      count: this.count,
      p50: ms(this.percentile(50)),
      p95: ms(this.percentile(95)),
      p99: ms(this.percentile(99)),
      max: ms(this.max),
      mean: ms(this.sum / this.count),
    }
  }

  /** Plain form for IPC. */
  toJSON(): {counts: number[]; count: number; max: number; sum: number} {
    return {counts: Array.from(this.counts), count: this.count, max: this.max, sum: this.sum}
  }
}
