/** The workload flags: what each accepts, and filling in defaults (SIZING.md has none of these). */
import {formatInt} from '../cli/render.js'
import {MAX_PACKET_SIZE} from '../broker/protocol/versions.js'
import type {Qos, Workload} from './capacity.js'
import {ASSUMED, MAX_DEVICES} from './guide.js'
import {type CountSpec, DEVICES, InputError, allowed, parseCount} from './parse.js'

/** What plan() takes. Only `devices` is required; the rest refine the estimate (see Workload). */
export interface PlanInput {
  devices: number
  /** Live connections; default all devices. */
  active?: number
  /** Messages per second delivered to devices, fleet total. */
  msgRate?: number
  /** Payload bytes per message (default 256). */
  payload?: number
  qos?: Qos
  /** Subscriptions per device (default 1). */
  subsPerDevice?: number
  /** Retained messages stored (default 0). */
  retained?: number
}


/** Limits of each workload input, by PlanInput key. `active`'s max is the fleet size. */
export const WORKLOAD_SPECS = {
  devices: DEVICES,
  active: {name: '--active', min: 0, max: MAX_DEVICES, unit: 'live connections'},
  msgRate: {name: '--msg-rate', min: 0, max: 100_000_000, unit: 'messages per second'},
  payload: {name: '--payload', min: 0, max: MAX_PACKET_SIZE, unit: 'bytes'},
  qos: {name: '--qos', min: 0, max: 2, unit: 'QoS levels'},
  subsPerDevice: {name: '--subs-per-device', min: 0, max: 10_000, unit: 'subscriptions'},
  retained: {name: '--retained', min: 0, max: 100_000_000, unit: 'retained messages'},
} satisfies Record<keyof PlanInput, CountSpec>

function check(value: number, spec: CountSpec): number {
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    throw new InputError(`${spec.name} ${String(value)} is not allowed; ${allowed(spec)}`)
  }
  return value
}

/** Parses one workload flag as typed (`--qos` accepts only 0, 1 or 2). */
export function parseWorkloadFlag(key: keyof PlanInput, text: string): number {
  const spec = WORKLOAD_SPECS[key]
  if (key === 'qos') {
    if (!/^[012]$/.test(text.trim())) throw new InputError(`--qos ${JSON.stringify(text)} is not allowed; allowed: 0, 1 or 2`)
    return Number(text.trim())
  }
  return parseCount(text, spec)
}

/** Checks a PlanInput and fills in the defaults. Throws InputError naming the bad value. */
export function resolveWorkload(input: PlanInput): Workload {
  const devices = check(input.devices, WORKLOAD_SPECS.devices)
  const live = input.active === undefined ? devices : check(input.active, WORKLOAD_SPECS.active)
  if (live > devices) {
    throw new InputError(`--active ${formatInt(live)} is more than --devices ${formatInt(devices)}; allowed: 0 to ${formatInt(devices)}`)
  }
  const qos = input.qos === undefined ? ASSUMED.qos : (check(input.qos, WORKLOAD_SPECS.qos) as Qos)
  return {
    devices,
    live,
    msgRate: input.msgRate === undefined ? null : check(input.msgRate, WORKLOAD_SPECS.msgRate),
    payloadBytes: input.payload === undefined ? ASSUMED.payloadBytes : check(input.payload, WORKLOAD_SPECS.payload),
    qos,
    subsPerDevice: input.subsPerDevice === undefined ? 1 : check(input.subsPerDevice, WORKLOAD_SPECS.subsPerDevice),
    retained: input.retained === undefined ? 0 : check(input.retained, WORKLOAD_SPECS.retained),
  }
}
