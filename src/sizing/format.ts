/** Number formatting the plan report and explanation share (on top of src/cli/render.ts). */
import {formatBytes} from '../cli/render.js'

/** 300 -> "300 µs", 40000 -> "40 ms", 1500 -> "1.5 ms", 49460000 -> "49.5 s". */
export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`
  if (us >= 10_000_000) return `${Number((us / 1e6).toFixed(1))} s`
  const ms = us / 1000
  return `${ms >= 100 ? Math.round(ms) : Number(ms.toFixed(1))} ms`
}

/** "2 GB – 5 GB" -> "2 – 5 GB" when both ends share the unit; one value when they are equal. */
export function bytesRange(min: number, max: number): string {
  const [a, c] = [formatBytes(min), formatBytes(max)]
  if (a === c) return a
  const unit = (t: string) => t.split(' ')[1]
  return unit(a) === unit(c) ? `${a.split(' ')[0]} – ${c}` : `${a} – ${c}`
}
