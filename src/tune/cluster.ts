/**
 * `--nodes N` for tune and build: the fleet split over N nodes, each node's devices and tier (so the OS
 * limits, the configuration and the unit are for its own connection count). Never fewer nodes than
 * the plan needs (each planned for at most 80 % of the large tier's maxConnections).
 */
import {formatInt} from '../cli/render.js'
import {InputError, nodeCapacity, parseDevices, tierByName, tierFor} from '../sizing/index.js'
import {resolveTarget, type Target} from './target.js'

/** Most nodes tune and build write files for (MAX_DEVICES / 800,000 = 125, with room). */
export const MAX_NODES = 1_000

export function parseNodes(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > MAX_NODES) throw new InputError(`--nodes ${JSON.stringify(text)} is not allowed; allowed: a whole number from 1 to ${formatInt(MAX_NODES)}`)
  return Number(text)
}

/** resolveTarget, with the fleet spread over `--nodes` when given. */
export function resolveNodesTarget(input: {devices?: string; tier?: string; nodes?: string}): Target {
  const base = resolveTarget(input)
  if (input.nodes === undefined) return base
  const nodes = parseNodes(input.nodes)
  if (input.devices === undefined) return {...base, nodes, notes: [...base.notes, `--nodes ${nodes}: these files are for each of the ${nodes} nodes`]}
  if (nodes < base.nodes) throw new InputError(`--nodes ${nodes} is not allowed for ${formatInt(parseDevices(input.devices))} devices: each node is planned for at most ${formatInt(nodeCapacity(tierByName('large')))} (80 % of maxConnections), so at least ${base.nodes} nodes; allowed: ${base.nodes} to ${formatInt(MAX_NODES)}`)
  if (nodes === base.nodes) return base
  const fleet = parseDevices(input.devices)
  const perNode = Math.ceil(fleet / nodes)
  const tier = tierFor(perNode) ?? tierByName('large')
  return {tier, devices: perNode, nodes, notes: [`--nodes ${nodes}: ${formatInt(fleet)} devices, ${formatInt(perNode)} on each node: tier ${tier.name}; these files are for each node`]}
}
