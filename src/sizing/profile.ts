/**
 * A measured profile: the model's per-unit costs as measured on a real host by
 * `mqttctl bench calibrate` (issue 6), used by `plan --profile measured` next to the guide's figures.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {MqttctlError} from '../errors.js'
import {makeDirs} from '../fs.js'

export interface MeasuredProfile {
  /** Resident memory of one live connection with no subscriptions, bytes. */
  bytesPerConnection: number
  /** Resident memory of one subscription, bytes. */
  bytesPerSubscription: number
  /** Time to deliver one message to 1,000 subscribers of one topic, milliseconds. */
  broadcastMsPerThousand: number
  /** CPU time per delivered message, microseconds. */
  cpuMicrosPerMessage: number
  /** ISO 8601 time of the measurement. */
  measuredAt: string
  host: string
  brokerVersion: string
}

/** Thrown when no profile exists or it is unreadable; the message says what to do. */
export class ProfileError extends MqttctlError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message, 1)
    this.name = 'ProfileError'
  }
}

/** `$MQTTCTL_PROFILE`, else `~/.config/mqttctl/profile.json` (`$XDG_CONFIG_HOME` honoured). */
export function defaultProfilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MQTTCTL_PROFILE) return env.MQTTCTL_PROFILE
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return join(base, 'mqttctl', 'profile.json')
}

const NUMBERS = ['bytesPerConnection', 'bytesPerSubscription', 'broadcastMsPerThousand', 'cpuMicrosPerMessage'] as const
const STRINGS = ['measuredAt', 'host', 'brokerVersion'] as const

export function validateProfile(raw: unknown, path: string): MeasuredProfile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ProfileError(path, `measured profile ${path} must hold one JSON object`)
  const p = raw as Record<string, unknown>
  for (const k of NUMBERS) {
    const v = p[k]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ProfileError(path, `measured profile ${path}: ${k} = ${JSON.stringify(v)} is not allowed: expected a number >= 0`)
    }
  }
  for (const k of STRINGS) {
    if (typeof p[k] !== 'string') throw new ProfileError(path, `measured profile ${path}: ${k} = ${JSON.stringify(p[k])} is not allowed: expected a string`)
  }
  const out = {} as Record<string, unknown>
  for (const k of [...NUMBERS, ...STRINGS]) out[k] = p[k]
  return out as unknown as MeasuredProfile
}

export function loadProfile(path: string = defaultProfilePath()): MeasuredProfile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ProfileError(path, `no measured profile at ${path}; run \`mqttctl bench calibrate\``)
    }
    throw new ProfileError(path, `cannot read measured profile ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ProfileError(path, `measured profile ${path} is not valid JSON: ${(error as Error).message}; run \`mqttctl bench calibrate\` again`)
  }
  return validateProfile(raw, path)
}

/** Writes atomically (temp file + rename), creating the directory. */
export function saveProfile(path: string, profile: MeasuredProfile): void {
  const valid = validateProfile(profile, path)
  makeDirs(dirname(path))
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(valid, null, 2) + '\n')
  renameSync(tmp, path)
}
