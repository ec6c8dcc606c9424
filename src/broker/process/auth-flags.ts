/**
 * The broker's --ws-port option (adds or edits a WebSocket listener) and the start-time check of the
 * auth files: a password or ACL file that cannot be used stops `start` (and the runtime) with one line
 * naming the file and line, before anything listens. Part of the option parsing in options.ts;
 * imported by the runtime, so it may only use src/config, src/net and the broker's auth loaders.
 */
import {ConfigError, type ListenerConfig, type LoadedConfig} from '../../config/index.js'
import {loadAclFile} from '../auth/acl.js'
import {AuthFileError} from '../auth/files.js'
import {loadPasswordFile} from '../auth/password-file.js'
import {isAnyAddress, listenerText} from '../../net.js'

/**
 * --ws-port: the port of the first plain WebSocket listener of the configuration, or a new one on
 * the first listener's host (path /mqtt).
 */
export function applyWsPort(listeners: ListenerConfig[], port: number): void {
  const existing = listeners.findIndex((l) => l.websocket === true && l.tls === undefined)
  const index = existing >= 0 ? existing : listeners.length
  const next: ListenerConfig = existing >= 0 ? {...listeners[existing], port} : {host: listeners[0].host, port, websocket: true}
  listeners.forEach((other, i) => {
    if (i === index || other.port === 0 || other.port !== port) return
    if (other.host === next.host || isAnyAddress(other.host) || isAnyAddress(next.host)) {
      throw new ConfigError('listeners[ws]', `--ws-port "${port}" is not allowed: listeners[${i}] (${listenerText(other)}) already uses port ${port}; choose another --ws-port`)
    }
  })
  listeners[index] = next
}

/** Loads the password and ACL files once, so a bad one is reported before the broker starts. */
export function checkAuthFiles(loaded: LoadedConfig, values: Record<string, unknown> = {}): LoadedConfig {
  const {passwordFile, aclFile} = loaded.config.auth
  const where = loaded.file && loaded.sources['auth.passwordFile'] === 'file' ? `${loaded.file}: ` : ''
  try {
    if (passwordFile !== undefined) loadPasswordFile(passwordFile, values['password-file'] !== undefined ? '--password-file' : `${where}auth.passwordFile`)
    const aclWhere = loaded.file && loaded.sources['auth.aclFile'] === 'file' ? `${loaded.file}: ` : ''
    if (aclFile !== undefined) loadAclFile(aclFile, values['acl-file'] !== undefined ? '--acl-file' : `${aclWhere}auth.aclFile`)
  } catch (error) {
    if (error instanceof AuthFileError) throw new ConfigError(error.setting.replace(/^.*: /, ''), error.message)
    throw error
  }
  return loaded
}
