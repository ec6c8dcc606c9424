/**
 * The header every generated file starts with: what it is for, for which tier and fleet, and where
 * it deliberately differs from the deployment guide. No dates or versions, so the output of one
 * input is always the same bytes (the golden tests depend on it).
 */
import {formatInt} from '../cli/render.js'
import type {Tier} from '../sizing/tiers.js'

export interface HeaderInput {
  /** One line: what the file does. */
  purpose: string
  /** Where it goes, or how to use it. */
  install: string
  tier: Tier
  devices?: number
  /** Set when the fleet needs several nodes: devices is then per node. */
  nodes?: number
  guideSection: string
  differences: string[]
}

export function fleetLine(tier: Tier, devices?: number, nodes?: number): string {
  const max = `MAX_CONNECTIONS ${formatInt(tier.broker.maxConnections)}`
  if (devices === undefined) return `tier ${tier.name} (${max}); no device count given (tier chosen directly)`
  if (nodes && nodes > 1) return `tier ${tier.name} (${max}); ${formatInt(devices)} devices on each of ${nodes} nodes`
  return `tier ${tier.name} (${max}) for ${formatInt(devices)} devices`
}

function lines(h: HeaderInput): string[] {
  return [
    `mqttctl tune: ${h.purpose}`,
    `Install: ${h.install}`,
    `For: ${fleetLine(h.tier, h.devices, h.nodes)}`,
    `Source: deployment guide ${h.guideSection}. Where this file differs from the guide, and why:`,
    ...h.differences.map((d) => `  - ${d}`),
  ]
}

/** "#"-comment header (shell, sysctl.d, limits.d, systemd units, PowerShell). */
export function hashHeader(h: HeaderInput): string {
  return lines(h)
    .map((l) => `# ${l}`)
    .join('\n')
}

/** XML comment header (plist). "--" is not allowed inside an XML comment. */
export function xmlHeader(h: HeaderInput): string {
  const body = lines(h)
    .map((l) => `  ${l.replaceAll('--', '- -')}`)
    .join('\n')
  return `<!--\n${body}\n-->`
}
