/**
 * Topic filters as sets of topic names, for the ACL: does a filter match a topic, do two filters
 * share a topic (overlap), and is every topic of a filter inside a union of filters (coverage).
 * Filters are handled as arrays of levels; '+' is one level, '#' (last) is "this level and below,
 * including the parent" [MQTT-4.7.1-2]. A wildcard in the first level never matches a topic that
 * starts with '$' [MQTT-4.7.2-1], so `#` does not grant `$SYS/...`.
 */

export type Levels = readonly string[]

const startsWithDollar = (level: string) => level.charCodeAt(0) === 0x24

/** Does filter `f` match topic name `t` (both split on '/')? */
export function matchLevels(f: Levels, t: Levels): boolean {
  if (t.length > 0 && startsWithDollar(t[0]) && (f[0] === '+' || f[0] === '#')) return false
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true // also matches the parent: "a/#" matches "a"
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

/** Is there a topic name both filters match? */
export function overlaps(a: Levels, b: Levels): boolean {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]
    const y = b[i]
    if (x === undefined || y === undefined) {
      // One ended: the other must match "no more levels", which only '#' (the parent rule) does.
      return (x ?? y) === '#' && i > 0
    }
    if (i === 0) {
      const xw = x === '+' || x === '#'
      const yw = y === '+' || y === '#'
      // A wildcard first level never meets a literal '$...' level.
      if ((xw && !yw && startsWithDollar(y)) || (yw && !xw && startsWithDollar(x))) return false
    }
    if (x === '#' || y === '#') return true
    if (x !== '+' && y !== '+' && x !== y) return false
  }
  return true
}

/**
 * Coverage gives up (answers "not covered", the safe answer) after this much work: filters looked at,
 * summed over the steps of the walk. Bounds the CPU one SUBSCRIBE filter can cost (a few ms) whatever
 * the client sends and however many rules the user has.
 */
export const COVER_STEP_LIMIT = 200_000

/** A level value no filter names: stands for "every other value" at that level. */
const OTHER = Symbol('other')
type Value = string | typeof OTHER

/**
 * Is every topic name matched by `f` also matched by at least one filter of `union`? Exact for
 * unions (e.g. `a/#` is covered by {`a`, `a/+/#`}): at each wildcard level of `f` it tries every
 * literal the union names there plus one value none names, which behaves like all the others.
 * Returns false when the walk would take more than COVER_STEP_LIMIT work.
 */
export function covered(f: Levels, union: readonly Levels[]): boolean {
  const budget = {steps: 0}
  const candidates = union.filter((u) => overlaps(f, u))
  if (candidates.length === 0) return false
  if (candidates.some((u) => contains(u, f))) return true // the usual case, in one pass
  return walk(f, 0, candidates, budget) === true
}

/** Is every topic of `f` matched by the single filter `u`? */
export function contains(u: Levels, f: Levels): boolean {
  for (let i = 0; i < u.length; i++) {
    const x = u[i]
    const y = f[i]
    if (x === '#') return !(i === 0 && y !== undefined && y !== '+' && y !== '#' && startsWithDollar(y))
    if (y === undefined || y === '#') return false
    if (x === '+') {
      if (i === 0 && startsWithDollar(y)) return false
    } else if (x !== y) return false
  }
  return f.length === u.length
}

/** true covered, false not, undefined out of budget (treated as false). */
function walk(f: Levels, i: number, set: readonly Levels[], budget: {steps: number}): boolean | undefined {
  budget.steps += 1 + set.length
  if (budget.steps > COVER_STEP_LIMIT) return undefined
  if (set.length === 0) return false
  const level = f[i]
  // The topic ends after i levels: some filter must end here too, or have '#' next (parent rule).
  const endsHere = () => set.some((u) => u.length === i || (u[i] === '#' && i > 0))
  if (level === undefined) return endsHere()
  if (level !== '+' && level !== '#') {
    const rest = advance(set, i, level)
    if (rest.some((u) => u[i] === '#')) return true // a filter with '#' here covers everything below
    return walk(f, i + 1, rest, budget)
  }
  if (level === '#' && i > 0 && !endsHere()) return false // "a/#" includes "a" itself
  // A wildcard: every literal named at this level, and one unnamed value (all the others behave alike).
  const values = new Set<Value>([OTHER])
  for (const u of set) {
    const v = u[i]
    if (v !== undefined && v !== '+' && v !== '#' && !(i === 0 && startsWithDollar(v))) values.add(v)
  }
  // For '#': after fixing this level the topic may end or go on, which is "<prefix>/<v>/#" one level down.
  const below = level === '#' ? [...f.slice(0, i), '+', '#'] : f
  for (const v of values) {
    budget.steps += set.length
    if (budget.steps > COVER_STEP_LIMIT) return undefined
    const rest = advance(set, i, v)
    if (rest.some((u) => u[i] === '#')) continue
    const sub = walk(below, i + 1, rest, budget)
    if (sub !== true) return sub
  }
  return true
}

/** The filters of `set` that can still match once level i is `v`. */
function advance(set: readonly Levels[], i: number, v: Value): Levels[] {
  const out: Levels[] = []
  for (const u of set) {
    const x = u[i]
    if (x === undefined) continue
    if (x === '#') {
      if (!(i === 0 && v !== OTHER && startsWithDollar(v))) out.push(u)
    } else if (x === '+') {
      if (!(i === 0 && v !== OTHER && startsWithDollar(v))) out.push(u)
    } else if (v !== OTHER && x === v) out.push(u)
  }
  return out
}

export const splitLevels = (s: string): string[] => s.split('/')
