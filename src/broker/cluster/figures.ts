/**
 * Each node's figures, shared through NATS on every statistics tick ("<prefix>.n.stats") for the
 * cluster totals in $SYS (./sys.ts). Every figure from the network is checked; peers are bounded.
 */
import type {Msg} from 'nats'

/** One node's figures. */
export interface NodeFigures {
  name: string
  clients: number
  received: number
  sent: number
  subscriptions: number
  exported: number
  imported: number
}

/** A node's cluster figures as $SYS/broker/mqttctl/cluster/... and Prometheus show them (./sys.ts computes them). */
export interface ClusterFigures {
  node: string
  connected: boolean
  disconnects: number
  exported: number
  /** From other nodes, core NATS and shared groups. */
  imported: number
  localOnly: number
  notWanted: number
  unmapped: number
  durableStored: number
  durableRefused: number
  durableDropped: number
  durableDelivered: number
  durableDuplicates: number
  sessionsMovedAway: number
  sessionsMovedHere: number
  /** Nodes heard from in the last three statistics intervals, this one included. */
  nodes: number
  /** Sums over those nodes. */
  total: {clients: number; received: number; sent: number; subscriptions: number}
}

const FIGURE_KEYS = ['clients', 'received', 'sent', 'subscriptions', 'exported', 'imported'] as const
/** Peers remembered at most (a peer is a broker node; the bound keeps a misbehaving publisher harmless). */
export const MAX_PEERS = 4_096

/** A peer's figures message, or undefined when it is not one (too long, not JSON, a bad field). */
export function parseFigures(m: Pick<Msg, 'data'>): {id: string; figures: NodeFigures} | undefined {
  if (m.data.length > 4096) return undefined
  let v: Record<string, unknown>
  try {
    v = JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (typeof v?.id !== 'string' || v.id.length > 64 || typeof v.name !== 'string' || v.name.length > 256) return undefined
  if (!FIGURE_KEYS.every((k) => Number.isSafeInteger(v[k]) && (v[k] as number) >= 0)) return undefined
  const figures = {name: v.name, ...Object.fromEntries(FIGURE_KEYS.map((k) => [k, v[k] as number]))} as NodeFigures
  return {id: v.id, figures}
}

/** Other nodes' latest figures by node id, with the time they arrived. */
export class PeerFigures extends Map<string, {figures: NodeFigures; at: number}> {
  /** Records a figures message; ignored when malformed or when MAX_PEERS others are known. */
  receive(m: Pick<Msg, 'data'>, now: number): void {
    const parsed = parseFigures(m)
    if (parsed === undefined) return
    if (!this.has(parsed.id) && this.size >= MAX_PEERS) return
    this.set(parsed.id, {figures: parsed.figures, at: now})
  }
}
