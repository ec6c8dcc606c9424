/**
 * Parsing of the workload numbers users type (`--devices 500k`, `--msg-rate 1,000`): one clear
 * message naming the value and what is allowed. Shared by plan and, later, tune/build/doctor.
 */
import {formatInt as fmt} from '../cli/render.js'
import {MqttctlError} from '../errors.js'
import {MAX_DEVICES} from './guide.js'

/** A value that is not allowed; `message` is the one line to show. */
export class InputError extends MqttctlError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'InputError'
  }
}

export interface CountSpec {
  /** How to name the value in messages, e.g. "--devices". */
  name: string
  min: number
  max: number
  /** Words for the unit in "allowed: a whole number of devices from 1 to …". */
  unit: string
}

const SUFFIX: Record<string, number> = {k: 1e3, m: 1e6, g: 1e9}

export function allowed(spec: CountSpec): string {
  return `allowed: a whole number of ${spec.unit} from ${fmt(spec.min)} to ${fmt(spec.max)}`
}

/**
 * Parses a count: digits with optional `,` or `_` grouping (500,000 / 500_000), an optional k/M/G
 * suffix (500k, 1.5M), or exponent form (1e6). The result must be a whole number within [min, max].
 */
export function parseCount(text: string, spec: CountSpec): number {
  // A hostile value is named, not echoed whole: at most 40 characters of it.
  const shown = text.length > 40 ? `${JSON.stringify(text.slice(0, 40)).slice(0, -1)}…" (${text.length} characters)` : JSON.stringify(text)
  const raw = text.trim()
  const grouped = /^[+-]?\d{1,3}([,_]\d{3})+(\.\d+)?[kmg]?$/i.test(raw)
  const plain = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?[kmg]?$/i.test(raw)
  if (!grouped && !plain) throw new InputError(`${spec.name} ${shown} is not a number; ${allowed(spec)} (e.g. 50000, 50,000 or 50k)`)
  let body = raw.replace(/[,_]/g, '')
  let factor = 1
  const last = body.slice(-1).toLowerCase()
  if (last in SUFFIX) {
    factor = SUFFIX[last]
    body = body.slice(0, -1)
  }
  const value = Number(body) * factor
  // Round away binary noise from suffixes (1.1k = 1100.0000000000002).
  const n = Math.abs(value - Math.round(value)) < 1e-6 * Math.max(1, Math.abs(value)) ? Math.round(value) : value
  if (!Number.isFinite(n)) throw new InputError(`${spec.name} ${shown} is too large; ${allowed(spec)}`)
  if (!Number.isInteger(n)) throw new InputError(`${spec.name} ${shown} is not a whole number; ${allowed(spec)}`)
  if (n < spec.min) throw new InputError(`${spec.name} ${shown} is too small; ${allowed(spec)}`)
  if (n > spec.max) throw new InputError(`${spec.name} ${shown} is too large; ${allowed(spec)}`)
  return n
}

export const DEVICES: CountSpec = {name: '--devices', min: 1, max: MAX_DEVICES, unit: 'devices'}

/** `--devices` as typed: 500000, 500_000, 500,000, 500k, 1M. */
export function parseDevices(text: string): number {
  return parseCount(text, DEVICES)
}
