/**
 * The broker's --tls-* options: they edit the configuration's first TLS listener or add one, and
 * every TLS listener's files are checked before anything starts. Part of the option parsing in
 * options.ts; imported by the runtime, so it may only use src/config, src/net and the broker's TLS loader.
 */
import {ConfigError, type ListenerConfig, type LoadedConfig} from '../../config/index.js'
import {configLabel, TlsFileError, tlsServerOptions} from '../listeners/tls.js'
import {isAnyAddress, listenerText} from '../../net.js'

/** The TLS flags, which edit the configuration's first TLS listener or add one. */
export const TLS_FLAGS = ['tls-port', 'tls-host', 'tls-cert', 'tls-key', 'tls-ca'] as const

/** Port of a TLS listener added by --tls-cert/--tls-key without --tls-port. */
export const DEFAULT_TLS_PORT = 8883

/** Index of the listener the TLS flags edit: the first with `tls` in the file, else a new last one. */
export function tlsFlagIndex(after: readonly ListenerConfig[], before: readonly ListenerConfig[]): number {
  const existing = before.findIndex((l) => l.tls !== undefined)
  return existing >= 0 ? existing : after.length - 1
}

const tlsFlagError = (flag: string, message: string) => new ConfigError(`listeners[tls]`, `--${flag} ${message}`)

/**
 * --tls-*: edit the first TLS listener of the configuration, or add one (which needs --tls-cert and
 * --tls-key) on --tls-port (default 8883) and --tls-host (default: the first listener's host).
 */
export function applyTlsFlags(listeners: ListenerConfig[], values: Record<string, unknown>, before: readonly ListenerConfig[]): void {
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
  listeners.forEach((other, i) => {
    if (i === index || other.port === 0 || other.port !== next.port) return
    if (other.host === next.host || isAnyAddress(other.host) || isAnyAddress(next.host)) {
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
export function checkTlsFiles(loaded: LoadedConfig, flagIndex = -1, values: Record<string, unknown> = {}): LoadedConfig {
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
