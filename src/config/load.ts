/**
 * Merges the configuration layers: defaults < file (--config) < environment (MQTTCTL_*) < flags,
 * validates the result, and remembers where each value came from (for `start --print-config`).
 */
import {closeSync, openSync, readSync} from 'node:fs'
import {type BrokerConfig, DEFAULT_CONFIG, FIELDS, getPath, setPath} from './schema.js'
import {ConfigError, unknownKeys, validateConfig} from './validate.js'

export type Source = 'default' | 'file' | 'env' | 'flag'

export interface LoadOptions {
  /** Path of a JSON configuration file (as `plan --write` produces). */
  file?: string
  /** Environment to read MQTTCTL_* variables from (default: none). */
  env?: Record<string, string | undefined>
  /** Overrides from command-line flags, keyed by dotted path (e.g. {"limits.maxKeepAlive": 60}). */
  overrides?: Record<string, unknown>
  /** Defaults to start from (e.g. a tier's figures); DEFAULT_CONFIG when omitted. */
  base?: BrokerConfig
}

export interface LoadedConfig {
  config: BrokerConfig
  /** Dotted key -> where its value came from. */
  sources: Record<string, Source>
  file?: string
}

/** Largest configuration file read: a broker configuration is a few KB, and /dev/zero or a wrong path must not fill memory. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** The file's text, read in chunks and refused past MAX_CONFIG_BYTES (works for pipes and devices too). */
function readBounded(file: string): string {
  const fd = openSync(file, 'r')
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024)
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) return Buffer.concat(chunks).toString('utf8')
      total += n
      if (total > MAX_CONFIG_BYTES) throw new ConfigError('file', `configuration file ${file} is larger than 1 MiB; a broker configuration is a few KB`)
      chunks.push(chunk.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readBounded(file)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError('file', `cannot read configuration file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError('file', `configuration file ${file} is not valid JSON: ${(error as Error).message}`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('file', `configuration file ${file} must hold one JSON object`)
  // "persistence": "none" (or "durable") is short for {"persistence": {"mode": ...}}.
  const p = (raw as Record<string, unknown>).persistence
  if (typeof p === 'string') (raw as Record<string, unknown>).persistence = {mode: p}
  // A section ("limits": 5) is named as one with the wrong type, not reported as an unknown key.
  for (const section of new Set(FIELDS.filter((f) => f.key.includes('.')).map((f) => f.key.split('.')[0]))) {
    const v = (raw as Record<string, unknown>)[section]
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw new ConfigError(section, `configuration file ${file}: ${section} = ${JSON.stringify(v)} is not allowed: expected an object of ${section}.* settings`)
    }
  }
  const extra = unknownKeys(raw as Record<string, unknown>)
  if (extra.length > 0) {
    throw new ConfigError(extra[0], `configuration file ${file}: unknown key "${extra[0]}"; allowed keys: ${FIELDS.map((f) => f.key).join(', ')}`)
  }
  return raw as Record<string, unknown>
}

function parseEnvValue(key: string, kind: string, text: string, name: string): unknown {
  if (kind === 'bool' || kind === 'optBool') {
    if (/^(1|true|yes|on)$/i.test(text)) return true
    if (/^(0|false|no|off)$/i.test(text)) return false
    throw new ConfigError(key, `environment ${name}=${JSON.stringify(text)} is not allowed: expected true or false`)
  }
  if (kind !== 'int') return text
  // Decimal digits (as the flags take them), spaces around allowed: Number() alone would take 0x10, 1e3 and 0b1.
  const n = Number(text)
  if (!/^\s*-?[0-9]+\s*$/.test(text) || !Number.isSafeInteger(n)) throw new ConfigError(key, `environment ${name}=${JSON.stringify(text)} is not allowed: expected an integer in decimal digits`)
  return n
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const config = structuredClone(options.base ?? DEFAULT_CONFIG) as unknown as Record<string, unknown>
  const sources: Record<string, Source> = {}
  for (const f of FIELDS) sources[f.key] = 'default'

  if (options.file) {
    const raw = readConfigFile(options.file)
    for (const f of FIELDS) {
      const v = getPath(raw, f.key)
      if (v !== undefined) {
        setPath(config, f.key, v)
        sources[f.key] = 'file'
      }
    }
    // Validate the file on its own first so its errors name the file.
    validateConfig(config as unknown as BrokerConfig, `${options.file}: `)
  }

  for (const f of FIELDS) {
    const text = f.env ? options.env?.[f.env] : undefined
    if (f.env && text !== undefined) {
      setPath(config, f.key, parseEnvValue(f.key, f.kind, text, f.env))
      sources[f.key] = 'env'
    }
  }

  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue
    if (!FIELDS.some((f) => f.key === key)) throw new ConfigError(key, `unknown configuration key "${key}"`)
    setPath(config, key, value)
    sources[key] = 'flag'
  }

  return {config: validateConfig(config as unknown as BrokerConfig), sources, file: options.file}
}
