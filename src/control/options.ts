/**
 * The broker's command-line options, shared by `mqttctl start` and the runtime's own entry
 * (src/broker/main.ts), so both accept the same names and report bad values the same way.
 * Pure: no oclif, no process state. Imported by the runtime, so it may only use src/config.
 */
import {type BrokerConfig, ConfigError, FIELDS, type ListenerConfig, type Source, type LoadedConfig, loadConfig} from '../config/index.js'
import {getPath} from '../config/schema.js'
import {optionValue, withLayoutDefaults} from '../build/defaults.js'
import {configLabel, TlsFileError, tlsServerOptions} from '../broker/listeners/tls.js'

export type OptionKind = 'int' | 'string' | 'enum' | 'bool'

export interface BrokerOption {
  /** Flag name without dashes, e.g. "max-connections". */
  flag: string
  /** Dotted configuration key it sets; port and host edit the first listener, tls-* the TLS listener. */
  key: string
  kind: OptionKind
  help: string
  helpValue?: string
}

const field = (key: string) => FIELDS.find((f) => f.key === key)!

/** Every option the broker takes besides --config. Order is the order of `--help`. */
export const BROKER_OPTIONS: readonly BrokerOption[] = [
  {flag: 'port', key: 'listeners[0].port', kind: 'int', helpValue: 'PORT', help: 'port of the first MQTT listener (default 1883; 0 = any free port)'},
  {flag: 'host', key: 'listeners[0].host', kind: 'string', helpValue: 'ADDRESS', help: 'address of the first MQTT listener (default 0.0.0.0 = every interface)'},
  {flag: 'data-dir', key: 'dataDir', kind: 'string', helpValue: 'DIR', help: 'data directory: pid file, log file, broker.json, persistent state (default ./data)'},
  {flag: 'log-level', key: 'logLevel', kind: 'enum', helpValue: 'LEVEL', help: 'debug, info, warn or error (default info)'},
  {flag: 'max-connections', key: 'maxConnections', kind: 'int', helpValue: 'N', help: 'live connections accepted before "Connection limit reached" (default 10000)'},
  {flag: 'io-entries', key: 'ioEntries', kind: 'int', helpValue: 'N', help: 'connections accepted per event-loop turn (default 256)'},
  {flag: 'client-pool', key: 'clientPool', kind: 'int', helpValue: 'N', help: 'the guide\'s MAX_CLIENTS_POOL; accepted for compatibility, no effect in this runtime (default 1024)'},
  {flag: 'forward-batch-size', key: 'forwardBatchSize', kind: 'int', helpValue: 'N', help: 'subscribers served per fan-out batch before yielding (default 100)'},
  {flag: 'stats-interval', key: 'statsInterval', kind: 'int', helpValue: 'SECONDS', help: 'seconds between statistics log lines and $SYS updates (default 5)'},
  {flag: 'metrics', key: 'metrics.enabled', kind: 'bool', help: 'serve Prometheus /metrics and /healthz over HTTP'},
  {flag: 'metrics-port', key: 'metrics.port', kind: 'int', helpValue: 'PORT', help: 'metrics HTTP port (default 9234; 0 = any free port)'},
  {flag: 'tls-port', key: 'listeners[tls].port', kind: 'int', helpValue: 'PORT', help: 'port of the MQTT over TLS listener (default 8883 once --tls-cert and --tls-key are given; 0 = any free port)'},
  {flag: 'tls-host', key: 'listeners[tls].host', kind: 'string', helpValue: 'ADDRESS', help: 'address of the TLS listener (default: the first listener\'s, i.e. --host)'},
  {flag: 'tls-cert', key: 'listeners[tls].tls.cert', kind: 'string', helpValue: 'FILE', help: 'PEM certificate (chain) of the TLS listener; with --tls-key it adds a TLS listener'},
  {flag: 'tls-key', key: 'listeners[tls].tls.key', kind: 'string', helpValue: 'FILE', help: 'PEM private key of the TLS listener'},
  {flag: 'tls-ca', key: 'listeners[tls].tls.ca', kind: 'string', helpValue: 'FILE', help: 'PEM CA certificates: clients must present a certificate signed by one (mutual TLS)'},
]

/** The TLS flags, which edit the configuration's first TLS listener or add one. */
const TLS_FLAGS = ['tls-port', 'tls-host', 'tls-cert', 'tls-key', 'tls-ca'] as const

/** Port of a TLS listener added by --tls-cert/--tls-key without --tls-port. */
export const DEFAULT_TLS_PORT = 8883

/** Environment variables for the first listener (the shared FIELDS table has none for listeners). */
export const LISTENER_ENV = {port: 'MQTTCTL_PORT', host: 'MQTTCTL_HOST'} as const

/** Set by `mqttctl start` in the foreground: the runtime stops when the CLI's stdin pipe closes. */
export const PARENT_PIPE_ENV = 'MQTTCTL_PARENT_PIPE'

/** Values as the user typed them: strings from argv, booleans for switches. */
export type RawOptions = Record<string, string | boolean | undefined>

function limits(opt: BrokerOption): {min: number; max: number} {
  if (opt.flag === 'port' || opt.flag === 'tls-port') return {min: 0, max: 65_535}
  const f = field(opt.key)
  return {min: f.min ?? 0, max: f.max ?? Number.MAX_SAFE_INTEGER}
}

const fmt = (n: number) => n.toLocaleString('en-US')

/** Parses one option's text; throws ConfigError naming the flag and what is allowed. */
export function parseOptionValue(opt: BrokerOption, value: string | boolean, name = `--${opt.flag}`): unknown {
  const label = (text: string) => `${name}${name.endsWith('=') ? '' : ' '}${JSON.stringify(text)}`
  if (opt.kind === 'bool') {
    if (typeof value === 'boolean') return value
    if (/^(1|true|yes|on)$/i.test(value)) return true
    if (/^(0|false|no|off)$/i.test(value)) return false
    throw new ConfigError(opt.key, `${label(value)} is not allowed: expected true or false`)
  }
  const text = String(value)
  if (opt.kind === 'int') {
    const {min, max} = limits(opt)
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(opt.key, `${label(text)} is not allowed: expected an integer from ${fmt(min)} to ${fmt(max)}`)
    }
    return n
  }
  if (opt.kind === 'enum') {
    const values = field(opt.key).values!
    if (!values.includes(text)) throw new ConfigError(opt.key, `${label(text)} is not allowed: expected one of ${values.join(', ')}`)
    return text
  }
  if (text.trim() === '') throw new ConfigError(opt.key, `${label('')} is not allowed: expected a non-empty value`)
  return text
}

export interface BrokerSettings {
  /** --config FILE */
  config?: string
  /** Parsed option values by flag name. */
  values: Record<string, unknown>
}

/** Turns raw option values (from oclif flags or parseArgs) into typed values; first bad one throws. */
export function parseBrokerOptions(raw: RawOptions): BrokerSettings {
  const values: Record<string, unknown> = {}
  for (const opt of BROKER_OPTIONS) {
    const v = raw[opt.flag]
    if (v === undefined || (opt.kind === 'bool' && v === false)) continue
    values[opt.flag] = parseOptionValue(opt, v)
  }
  const config = typeof raw.config === 'string' ? raw.config : undefined
  if (raw.config !== undefined && (config === undefined || config.trim() === '')) {
    throw new ConfigError('file', '--config "" is not allowed: expected the path of a JSON configuration file (as `mqttctl plan --write` produces)')
  }
  return {config, values}
}

/**
 * Loads the configuration the way the broker will run with it: defaults < file < environment
 * (MQTTCTL_*) < flags. --port/--host (and MQTTCTL_PORT/MQTTCTL_HOST) edit the first listener and
 * keep any others from the file.
 */
export function loadBrokerConfig(settings: BrokerSettings, env: Record<string, string | undefined> = {}): LoadedConfig {
  const overrides: Record<string, unknown> = {}
  for (const opt of BROKER_OPTIONS) {
    if (opt.key.startsWith('listeners[')) continue
    if (settings.values[opt.flag] !== undefined) overrides[opt.key] = settings.values[opt.flag]
  }
  const first = blameEnv(() => loadConfig({file: settings.config, env, overrides}), env, overrides)

  const listener: {port?: unknown; host?: unknown} = {}
  let source: Source | undefined
  for (const which of ['port', 'host'] as const) {
    const name = LISTENER_ENV[which]
    const opt = BROKER_OPTIONS.find((o) => o.flag === which)!
    if (env[name] !== undefined) {
      listener[which] = parseOptionValue(opt, env[name]!, `environment ${name}=`)
      source ??= 'env'
    }
  }
  for (const which of ['port', 'host'] as const) {
    if (settings.values[which] !== undefined) {
      listener[which] = settings.values[which]
      source = 'flag'
    }
  }
  const tlsGiven = TLS_FLAGS.some((f) => settings.values[f] !== undefined)
  if (source === undefined && !tlsGiven) return checkTlsFiles(first)

  const listeners = structuredClone(first.config.listeners)
  if (source !== undefined) listeners[0] = {...listeners[0], ...(listener as {port?: number; host?: string})}
  if (tlsGiven) applyTlsFlags(listeners, settings.values, first.config.listeners)
  const loaded = blameEnv(() => loadConfig({file: settings.config, env, overrides: {...overrides, listeners}}), env, overrides)
  loaded.sources.listeners = tlsGiven ? 'flag' : source!
  return checkTlsFiles(loaded, tlsGiven ? tlsFlagIndex(listeners, first.config.listeners) : -1, settings.values)
}

/** Index of the listener the TLS flags edit: the first with `tls` in the file, else a new last one. */
function tlsFlagIndex(after: readonly ListenerConfig[], before: readonly ListenerConfig[]): number {
  const existing = before.findIndex((l) => l.tls !== undefined)
  return existing >= 0 ? existing : after.length - 1
}

const tlsFlagError = (flag: string, message: string) => new ConfigError(`listeners[tls]`, `--${flag} ${message}`)

/**
 * --tls-*: edit the first TLS listener of the configuration, or add one (which needs --tls-cert and
 * --tls-key) on --tls-port (default 8883) and --tls-host (default: the first listener's host).
 */
function applyTlsFlags(listeners: ListenerConfig[], values: Record<string, unknown>, before: readonly ListenerConfig[]): void {
  const v = (flag: (typeof TLS_FLAGS)[number]) => values[flag] as string | number | undefined
  const existing = before.findIndex((l) => l.tls !== undefined)
  if (existing < 0) {
    const missing = (['tls-cert', 'tls-key'] as const).filter((f) => v(f) === undefined)
    if (missing.length > 0) {
      const first = TLS_FLAGS.find((f) => v(f) !== undefined)!
      throw tlsFlagError(first, `${JSON.stringify(String(v(first)))} needs ${missing.map((f) => `--${f} FILE`).join(' and ')}: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)`)
    }
  }
  if (existing === 0 && values.port !== undefined && v('tls-port') !== undefined) {
    throw tlsFlagError('tls-port', `${JSON.stringify(String(v('tls-port')))} is not allowed together with --port: the first listener of the configuration is the TLS one; give one of them`)
  }
  const base: ListenerConfig = existing >= 0 ? listeners[existing] : {host: listeners[0].host, port: DEFAULT_TLS_PORT, tls: {cert: '', key: ''}}
  const tls = {...base.tls!}
  if (v('tls-cert') !== undefined) tls.cert = v('tls-cert') as string
  if (v('tls-key') !== undefined) tls.key = v('tls-key') as string
  if (v('tls-ca') !== undefined) tls.ca = v('tls-ca') as string
  const next: ListenerConfig = {host: (v('tls-host') as string | undefined) ?? base.host, port: (v('tls-port') as number | undefined) ?? base.port, tls}
  const index = existing >= 0 ? existing : listeners.length
  listeners[index] = next
  const wildcard = (h: string) => h === '0.0.0.0' || h === '::' || h === '[::]'
  listeners.forEach((other, i) => {
    if (i === index || other.port === 0 || other.port !== next.port) return
    if (other.host === next.host || wildcard(other.host) || wildcard(next.host)) {
      const flag = v('tls-port') !== undefined ? 'tls-port' : 'tls-host'
      const shown = flag === 'tls-port' ? String(next.port) : next.host
      throw tlsFlagError(flag, `${JSON.stringify(shown)} is not allowed: listeners[${i}] (${listenerText(other)}) already uses port ${next.port}${v('tls-port') === undefined ? ` (the TLS listener defaults to ${DEFAULT_TLS_PORT})` : ''}; choose another --tls-port`)
    }
  })
}

/**
 * Every TLS listener's certificate, key and CA must be readable and usable before anything starts:
 * otherwise `start` would spawn a broker that fails at once. Files named by flags are reported as
 * flags (--tls-cert "…"), files from the configuration by key (listeners[1].tls.cert = "…").
 */
function checkTlsFiles(loaded: LoadedConfig, flagIndex = -1, values: Record<string, unknown> = {}): LoadedConfig {
  loaded.config.listeners.forEach((l, i) => {
    if (!l.tls) return
    // Not from a flag, so from the configuration file (the defaults have no TLS listener).
    const fromFile = configLabel(`${loaded.file ? `${loaded.file}: ` : ''}listeners[${i}].tls`)
    const label = (file: 'cert' | 'key' | 'ca', path: string) => (i === flagIndex && values[`tls-${file}`] !== undefined ? `--tls-${file} ${JSON.stringify(path)}` : fromFile(file, path))
    try {
      tlsServerOptions(l.tls, label)
    } catch (error) {
      if (error instanceof TlsFileError) throw new ConfigError(`listeners[${i}].tls.${error.file}`, error.message)
      throw error
    }
  })
  return loaded
}

/**
 * A value from MQTTCTL_* that parses but is out of range is reported by the shared validator under
 * its key ("logLevel = ..."); say which environment variable it came from instead.
 */
function blameEnv<T>(load: () => T, env: Record<string, string | undefined>, overrides: Record<string, unknown>): T {
  try {
    return load()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const spec = FIELDS.find((f) => f.key === error.key)
    const value = spec?.env ? env[spec.env] : undefined
    const rest = / is not allowed: (.*)$/.exec(error.message)?.[1]
    if (!spec?.env || value === undefined || overrides[spec.key] !== undefined || !rest || !error.message.startsWith(`${spec.key} = `)) throw error
    throw new ConfigError(spec.key, `environment ${spec.env}=${JSON.stringify(value)} is not allowed: ${rest}`)
  }
}

/** Argument list for the runtime that reproduces these settings (flags only; env is inherited). */
export function toRuntimeArgs(settings: BrokerSettings): string[] {
  const args: string[] = []
  if (settings.config) args.push('--config', settings.config)
  for (const opt of BROKER_OPTIONS) {
    const v = settings.values[opt.flag]
    if (v === undefined) continue
    if (opt.kind === 'bool') {
      if (v) args.push(`--${opt.flag}`)
    } else args.push(`--${opt.flag}`, String(v))
  }
  return args
}

/** One line per listener, e.g. "0.0.0.0:1883" or "[::]:8883 (tls)". */
export function listenerText(l: {host: string; port: number; tls?: unknown}): string {
  const host = l.host.includes(':') ? `[${l.host}]` : l.host
  return `${host}:${l.port}${l.tls ? ' (tls)' : ''}`
}

export type {BrokerConfig}

/** The data directory `stop`/`status` look in: --data-dir, else the configuration's (file, env), else ./data. */
export function locateDataDir(raw: {config?: string; 'data-dir'?: string}, env: Record<string, string | undefined> = {}): string {
  const settings = parseBrokerOptions({config: raw.config, 'data-dir': raw['data-dir']})
  if (settings.values['data-dir'] !== undefined) return settings.values['data-dir'] as string
  return loadConfig({file: settings.config, env: {MQTTCTL_DATA_DIR: env.MQTTCTL_DATA_DIR}}).config.dataDir
}

/** `start --print-config` rows: key, value (JSON), source; and the same as an object for --json. */
export function configRows(loaded: LoadedConfig): string[][] {
  return FIELDS.map((f) => {
    const value = f.key === 'listeners' ? loaded.config.listeners.map(listenerDetail).join(', ') : JSON.stringify(getPath(loaded.config, f.key))
    const source = loaded.sources[f.key] === 'file' ? `file ${loaded.file}` : loaded.sources[f.key] === 'env' ? `env ${envName(f.key)}` : loaded.sources[f.key]
    return [f.key, value, source]
  })
}

/** listenerText plus the TLS files: "0.0.0.0:8883 (tls: cert /etc/mqtt/cert.pem, key /etc/mqtt/key.pem, client ca /etc/mqtt/ca.pem)". */
function listenerDetail(l: ListenerConfig): string {
  if (!l.tls) return listenerText(l)
  const files = [`cert ${l.tls.cert}`, `key ${l.tls.key}`, ...(l.tls.ca ? [`client ca ${l.tls.ca}`] : [])]
  return `${listenerText({...l, tls: undefined})} (tls: ${files.join(', ')})`
}

function envName(key: string): string {
  if (key === 'listeners') return `${LISTENER_ENV.port}/${LISTENER_ENV.host}`
  return FIELDS.find((f) => f.key === key)?.env ?? ''
}

/**
 * `start --runtime DIR` on a `mqttctl build` layout: without --config / --data-dir the built broker
 * reads DIR/etc/broker.json and keeps its data under DIR (src/build/defaults.ts). Start applies the
 * same rule before loading the configuration, so its pid-file checks, readiness wait, and the
 * `stop --data-dir` hint it prints look where the broker will write.
 */
export function applyLayoutDefaults(settings: BrokerSettings, root: string, env: Record<string, string | undefined>): BrokerSettings {
  const given: string[] = []
  if (settings.config !== undefined) given.push('--config', settings.config)
  if (settings.values['data-dir'] !== undefined) given.push('--data-dir', String(settings.values['data-dir']))
  const argv = withLayoutDefaults(given, env, root)
  const dataDir = optionValue(argv, 'data-dir')
  return {
    config: optionValue(argv, 'config'),
    values: dataDir === undefined ? settings.values : {...settings.values, 'data-dir': dataDir},
  }
}
