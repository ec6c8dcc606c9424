/**
 * The broker's command-line options, shared by the runtime's entry (src/broker/main.ts) and
 * `mqttctl start` (through src/control/options.ts), so both accept the same names and report bad
 * values the same way. Pure: no oclif, no process state; src/config and node-only helpers only.
 * The --tls-* options: tls-flags.ts; --password-file, --acl-file, --ws-port: auth-flags.ts.
 */
import {dirname, join, relative, resolve, sep} from 'node:path'
import {type BrokerConfig, ConfigError, FIELDS, type ListenerConfig, type Source, type LoadedConfig, loadConfig} from '../../config/index.js'
import {formatInt as fmt} from '../stats/format.js'
import {applyTlsFlags, checkTlsFiles, TLS_FLAGS, tlsFlagIndex} from './tls-flags.js'
import {parseNatsUrls} from '../cluster/config.js'
import {applyWsPort, checkAuthFiles} from './auth-flags.js'

export type OptionKind = 'int' | 'string' | 'enum' | 'bool' | 'urls'

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
  {flag: 'ws-port', key: 'listeners[ws].port', kind: 'int', helpValue: 'PORT', help: 'port of an MQTT over WebSocket listener (path /mqtt) on the first listener\'s address; 0 = any free port'},
  {flag: 'password-file', key: 'auth.passwordFile', kind: 'string', helpValue: 'FILE', help: 'Mosquitto password file (mosquitto_passwd or mqttctl passwd): clients must log in; anonymous clients are refused unless --allow-anonymous'},
  {flag: 'acl-file', key: 'auth.aclFile', kind: 'string', helpValue: 'FILE', help: 'Mosquitto ACL file: what each user may publish and subscribe to; everything else is denied'},
  {flag: 'allow-anonymous', key: 'auth.allowAnonymous', kind: 'bool', help: 'accept clients without a user name even with a password file'},
  {flag: 'cluster', key: 'cluster.servers', kind: 'urls', helpValue: 'URLS', help: 'join a cluster of brokers through NATS: nats://host:4222[,nats://host2:4222] (docs/scale-out.md)'},
  {flag: 'workers', key: 'cluster.workers', kind: 'int', helpValue: 'N', help: 'broker processes on this host sharing the port(s); without --cluster they join through a local nats-server (default 1)'},
  {flag: 'node-name', key: 'cluster.nodeName', kind: 'string', helpValue: 'NAME', help: 'this node\'s name in a cluster\'s logs and $SYS (default: host name and pid)'},
]

/** Environment variables for the first listener (the shared FIELDS table has none for listeners). */
export const LISTENER_ENV = {port: 'MQTTCTL_PORT', host: 'MQTTCTL_HOST'} as const

/** Set by `mqttctl start` in the foreground: the runtime stops when the CLI's stdin pipe closes. */
export const PARENT_PIPE_ENV = 'MQTTCTL_PARENT_PIPE'

/** Values as the user typed them: strings from argv, booleans for switches. */
export type RawOptions = Record<string, string | boolean | undefined>

function limits(opt: BrokerOption): {min: number; max: number} {
  if (opt.flag === 'port' || opt.flag === 'tls-port' || opt.flag === 'ws-port') return {min: 0, max: 65_535}
  const f = field(opt.key)
  return {min: f.min ?? 0, max: f.max ?? Number.MAX_SAFE_INTEGER}
}


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
  if (opt.kind === 'urls') {
    try {
      return parseNatsUrls(text, name)
    } catch (error) {
      throw new ConfigError(opt.key, (error as Error).message)
    }
  }
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
  const wsGiven = settings.values['ws-port'] !== undefined
  if (source === undefined && !tlsGiven && !wsGiven) return checkConfigPlace(checkAuthFiles(checkTlsFiles(first), settings.values), settings.config)

  const listeners = structuredClone(first.config.listeners)
  if (source !== undefined) listeners[0] = {...listeners[0], ...(listener as {port?: number; host?: string})}
  if (tlsGiven) applyTlsFlags(listeners, settings.values, first.config.listeners)
  const tlsIndex = tlsGiven ? tlsFlagIndex(listeners, first.config.listeners) : -1
  if (wsGiven) applyWsPort(listeners, settings.values['ws-port'] as number)
  const loaded = blameEnv(() => loadConfig({file: settings.config, env, overrides: {...overrides, listeners}}), env, overrides)
  loaded.sources.listeners = tlsGiven || wsGiven ? 'flag' : source!
  return checkConfigPlace(checkAuthFiles(checkTlsFiles(loaded, tlsIndex, settings.values), settings.values), settings.config)
}

/** Files the broker writes or removes in its data directory (src/broker/process/state.ts, reload.ts, persistence/). */
const DATA_DIR_FILES = ['broker.json', 'broker.pid', 'broker.log', 'broker.reload.json', 'subscriptions.json']

/**
 * The configuration file may not be one of the broker's own files in its data directory: the broker
 * would overwrite broker.json with its state and `stop` would delete it (reproduced: a
 * --config data/broker.json was gone after the first stop).
 */
function checkConfigPlace(loaded: LoadedConfig, file: string | undefined): LoadedConfig {
  if (file === undefined) return loaded
  const dir = resolve(loaded.config.dataDir)
  const path = resolve(file)
  const name = relative(dir, path)
  if (DATA_DIR_FILES.includes(name) || name === 'store' || name.startsWith(`store${sep}`)) {
    throw new ConfigError('dataDir', `configuration file ${path} is inside the data directory ${dir} under a name the broker writes itself (${DATA_DIR_FILES.join(', ')}, store/): move it out of the data directory, or rename it (e.g. ${join(dirname(path), 'mqttctl.json')})`)
  }
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

export type {BrokerConfig}
