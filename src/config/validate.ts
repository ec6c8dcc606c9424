import {formatInt as fmt} from '../broker/stats/format.js'
import {MqttctlError} from '../errors.js'
import {type BrokerConfig, type FieldSpec, FIELDS, getPath} from './schema.js'

/** A configuration value that is not allowed: names the key, the value and what is allowed. */
export class ConfigError extends MqttctlError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message, 2)
    this.name = 'ConfigError'
  }
}

// NaN and ±Infinity (a file's 1e999, a flag's NaN) as themselves: JSON.stringify would say "null".
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v) ?? String(v))

function checkInt(spec: FieldSpec, value: unknown, where: string): void {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= (spec.min ?? -Infinity) && value <= (spec.max ?? Infinity)
  if (!ok) {
    throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected an integer from ${fmt(spec.min ?? 0)} to ${fmt(spec.max ?? Number.MAX_SAFE_INTEGER)}`)
  }
}

const LISTENER_KEYS = ['host', 'port', 'tls', 'websocket', 'path']
/** Listeners one broker opens at most (each is a server socket; operators use two or three), and a host name's length (DNS). */
export const MAX_LISTENERS = 64
const MAX_HOST_CHARS = 253
const TLS_KEYS = ['cert', 'key', 'ca']

function checkListeners(value: unknown, where: string): void {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError('listeners', `${where}listeners = ${show(value)} is not allowed: expected a non-empty list of {host, port}`)
  }
  if (value.length > MAX_LISTENERS) throw new ConfigError('listeners', `${where}listeners has ${value.length} entries, which is not allowed: at most ${MAX_LISTENERS}`)
  value.forEach((l: unknown, i) => {
    const key = `listeners[${i}]`
    if (l === null || typeof l !== 'object') throw new ConfigError(key, `${where}${key} = ${show(l)} is not allowed: expected {host, port}`)
    // A typo must not pass silently: a "tsl" listener would serve plain MQTT on the TLS port.
    for (const k of Object.keys(l)) if (!LISTENER_KEYS.includes(k)) throw new ConfigError(`${key}.${k}`, `${where}${key}.${k} is not allowed: unknown key; a listener has ${LISTENER_KEYS.join(', ')}`)
    const {host, port, tls, websocket, path} = l as Record<string, unknown>
    if (typeof host !== 'string' || host === '' || host.length > MAX_HOST_CHARS) throw new ConfigError(`${key}.host`, `${where}${key}.host = ${show(host)} is not allowed: expected an address such as 0.0.0.0 or 127.0.0.1 (at most ${MAX_HOST_CHARS} characters)`)
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new ConfigError(`${key}.port`, `${where}${key}.port = ${show(port)} is not allowed: expected an integer from 0 to 65,535`)
    }
    if (tls !== undefined) {
      const t = tls as Record<string, unknown>
      for (const f of ['cert', 'key'] as const) {
        if (typeof t?.[f] !== 'string' || t[f] === '') throw new ConfigError(`${key}.tls.${f}`, `${where}${key}.tls.${f} = ${show(t?.[f])} is not allowed: expected a path to a PEM file`)
      }
      for (const k of Object.keys(t)) if (!TLS_KEYS.includes(k)) throw new ConfigError(`${key}.tls.${k}`, `${where}${key}.tls.${k} is not allowed: unknown key; tls has ${TLS_KEYS.join(', ')}`)
      if (t.ca !== undefined && (typeof t.ca !== 'string' || t.ca === '')) throw new ConfigError(`${key}.tls.ca`, `${where}${key}.tls.ca = ${show(t.ca)} is not allowed: expected a path to a PEM file, or leave it out`)
    }
    if (websocket !== undefined && typeof websocket !== 'boolean') throw new ConfigError(`${key}.websocket`, `${where}${key}.websocket = ${show(websocket)} is not allowed: expected true or false`)
    if (path !== undefined && (typeof path !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,1023}$/.test(path) || websocket !== true)) {
      throw new ConfigError(`${key}.path`, `${where}${key}.path = ${show(path)} is not allowed: expected an HTTP path such as "/mqtt" on a listener with "websocket": true`)
    }
  })
}

/** Checks every field of a complete configuration; throws ConfigError on the first bad one. */
export function validateConfig(config: BrokerConfig, where = ''): BrokerConfig {
  for (const spec of FIELDS) {
    const value = getPath(config, spec.key)
    switch (spec.kind) {
      case 'int':
        checkInt(spec, value, where)
        break
      case 'bool':
        if (typeof value !== 'boolean') throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected true or false`)
        break
      case 'string':
        if (typeof value !== 'string' || value === '') throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected a non-empty string`)
        break
      case 'enum':
        if (typeof value !== 'string' || !spec.values!.includes(value)) {
          throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected one of ${spec.values!.join(', ')}`)
        }
        break
      case 'strings':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
          throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected a list of strings`)
        }
        break
      case 'listeners':
        checkListeners(value, where)
        break
      case 'optString':
        if (value !== undefined && (typeof value !== 'string' || value === '')) throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected a non-empty string, or leave it out`)
        break
      case 'optBool':
        if (value !== undefined && typeof value !== 'boolean') throw new ConfigError(spec.key, `${where}${spec.key} = ${show(value)} is not allowed: expected true or false, or leave it out`)
        break
    }
  }
  return config
}

/** Keys a file may contain (top-level and nested), to reject typos instead of ignoring them. */
export function unknownKeys(raw: Record<string, unknown>): string[] {
  const known = new Set(FIELDS.map((f) => f.key))
  const parents = new Set(FIELDS.filter((f) => f.key.includes('.')).map((f) => f.key.split('.')[0]))
  const out: string[] = []
  for (const [k, v] of Object.entries(raw)) {
    if (k === '$schema' || k === '_comment') continue
    if (parents.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const sub of Object.keys(v)) if (!known.has(`${k}.${sub}`)) out.push(`${k}.${sub}`)
    } else if (!known.has(k)) out.push(k)
  }
  return out
}
