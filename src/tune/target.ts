/**
 * Which tier the files are for: from --devices through the capacity model (plan), from --tier
 * directly, or the default small tier. Above one node's capacity the files are for each node.
 */
import {formatInt} from '../cli/render.js'
import {InputError, parseDevices, plan, type Tier, tierByName, type TierName, TIER_NAMES} from '../sizing/index.js'
import type {TuneOs} from './types.js'

export interface Target {
  tier: Tier
  /** Devices per node (the whole fleet when nodes is 1); undefined when chosen by --tier. */
  devices?: number
  nodes: number
  /** Lines for stderr: why this tier, scale-out. */
  notes: string[]
}

export function resolveTarget(input: {devices?: string; tier?: string}): Target {
  if (input.devices !== undefined && input.tier !== undefined) throw new InputError('--devices and --tier are not allowed together; give one of them')
  if (input.tier !== undefined) {
    if (!TIER_NAMES.includes(input.tier as TierName)) throw new InputError(`--tier ${JSON.stringify(input.tier)} is not allowed; allowed: ${TIER_NAMES.join(', ')}`)
    return {tier: tierByName(input.tier as TierName), nodes: 1, notes: []}
  }
  if (input.devices === undefined) {
    const tier = tierByName('small')
    return {tier, nodes: 1, notes: [`no --devices or --tier given: tier small (up to ${formatInt(tier.maxDevices)} devices)`]}
  }
  const p = plan({devices: parseDevices(input.devices)})
  const tier = tierByName(p.tier)
  if (p.scaleOut) {
    return {tier, devices: p.scaleOut.devicesPerNode, nodes: p.nodes, notes: [...p.notes, `these files are for each of the ${p.nodes} nodes (${formatInt(p.scaleOut.devicesPerNode)} devices each)`]}
  }
  return {tier, devices: p.devices, nodes: 1, notes: [p.reason]}
}

const PLATFORMS: Record<string, TuneOs> = {linux: 'linux', win32: 'windows', darwin: 'macos'}

/** The OS this runs on, or undefined when tune has no files for it. */
export function currentOs(platform: string = process.platform): TuneOs | undefined {
  return PLATFORMS[platform]
}
