/**
 * How a running sysctl value compares with a recommended one, and the value to set without making
 * the machine worse. apply.sh's merge() does the same in bash; a test runs both on one fake /proc.
 * BigInt: fs.file-max is often 2^63-1, beyond a double's exact integers.
 */
import type {Mode} from './linux.js'

export type Status = 'ok' | 'too low' | 'too high' | 'too narrow' | 'differs' | 'missing'

/** Whitespace as /proc prints it (tabs) folded to one space. */
export const normalize = (s: string) => s.trim().replace(/\s+/g, ' ')

function ints(s: string): bigint[] | undefined {
  const parts = normalize(s).split(' ')
  if (!parts.every((p) => /^-?\d+$/.test(p))) return undefined
  return parts.map((p) => BigInt(p))
}

const max = (a: bigint, b: bigint) => (a > b ? a : b)
const min = (a: bigint, b: bigint) => (a < b ? a : b)

export function compareValue(mode: Mode, current: string, recommended: string): Status {
  if (mode === 'set') return normalize(current) === normalize(recommended) ? 'ok' : 'differs'
  const c = ints(current)
  const r = ints(recommended)
  if (!c || !r || c.length !== r.length) return 'differs'
  if (mode === 'range') return c[0] <= r[0] && c[1] >= r[1] ? 'ok' : 'too narrow'
  if (mode === 'min') return c.every((v, i) => v >= r[i]) ? 'ok' : 'too low'
  return c.every((v, i) => v <= r[i]) ? 'ok' : 'too high'
}

/** The value apply writes: the recommendation, except where the running value is already better. */
export function mergeValue(mode: Mode, current: string, recommended: string): string {
  const rec = normalize(recommended)
  const c = ints(current)
  const r = ints(rec)
  if (mode === 'set' || !c || !r || c.length !== r.length) return rec
  if (mode === 'range') return `${min(c[0], r[0])} ${max(c[1], r[1])}`
  return r.map((v, i) => (mode === 'min' ? max(v, c[i]) : min(v, c[i]))).join(' ')
}
