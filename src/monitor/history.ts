/**
 * Recent snapshots and the per-second rates between them (counter deltas over the broker's own
 * clock). Before two ticks exist, rates come from Mosquitto's 1-minute load average / 60.
 */
import type {LoadName} from '../broker/stats/loads.js'
import type {Figure, MonitorSnapshot} from './snapshot.js'

export const RATE_FIGURES = {
  messagesIn: {figure: 'messagesReceived', load: 'publish/received'},
  messagesOut: {figure: 'messagesSent', load: 'publish/sent'},
  bytesIn: {figure: 'bytesReceived', load: 'bytes/received'},
  bytesOut: {figure: 'bytesSent', load: 'bytes/sent'},
  connects: {figure: 'connectionsTotal', load: 'connections'},
} as const satisfies Record<string, {figure: Figure; load: LoadName}>

export type RateName = keyof typeof RATE_FIGURES
export type Rates = Record<RateName, number | null>

const RATE_NAMES = Object.keys(RATE_FIGURES) as RateName[]

export interface Point {
  snapshot: MonitorSnapshot
  /** Rates over the interval ending at this snapshot. */
  rates: Rates
}

function deltaRate(cur: MonitorSnapshot, prev: MonitorSnapshot | undefined, name: RateName): number | null {
  const {figure, load} = RATE_FIGURES[name]
  const now = cur.figures[figure]
  const before = prev?.figures[figure]
  const seconds = prev ? elapsedSeconds(prev, cur) : 0
  if (now !== undefined && before !== undefined && seconds > 0) return Math.max(0, now - before) / seconds
  const perMinute = cur.loads[load]?.['1min']
  return perMinute === undefined ? null : perMinute / 60
}

function elapsedSeconds(prev: MonitorSnapshot, cur: MonitorSnapshot): number {
  const up0 = prev.figures.uptimeSeconds
  const up1 = cur.figures.uptimeSeconds
  const byClock = (cur.time - prev.time) / 1000
  // Mosquitto has no timestamp topic: its uptime is the better clock then.
  if (byClock <= 0 && up0 !== undefined && up1 !== undefined) return up1 - up0
  return byClock
}

export class History {
  readonly #points: Point[] = []
  constructor(readonly capacity = 60) {}

  push(snapshot: MonitorSnapshot): Point {
    const prev = this.#points.at(-1)?.snapshot
    const rates = Object.fromEntries(RATE_NAMES.map((n) => [n, deltaRate(snapshot, prev, n)])) as Rates
    const point = {snapshot, rates}
    this.#points.push(point)
    if (this.#points.length > this.capacity) this.#points.shift()
    return point
  }

  get points(): readonly Point[] {
    return this.#points
  }

  latest(): Point | undefined {
    return this.#points.at(-1)
  }

  previous(): Point | undefined {
    return this.#points.at(-2)
  }
}
