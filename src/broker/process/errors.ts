/**
 * Error -> one line with the fix, and the exit codes shared by `start`, `stop`, `status` and the
 * runtime entry (the CLI imports them from here). Pure (no process state), so it is unit-tested on synthetic errors.
 */
import {MqttctlError} from '../../errors.js'

export const EXIT = {
  ok: 0,
  /** The broker could not start or stop (port in use, permissions, data directory, crash). */
  failure: 1,
  /** Bad flag, environment value or configuration file: nothing was started. */
  usage: 2,
  /** `status`/`stop`: no broker is running on that data directory (like `systemctl status`). */
  notRunning: 3,
} as const

/** A failure with its one-line message and exit code. */
export class ControlError extends MqttctlError {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message, exitCode)
    this.name = 'ControlError'
  }
}

type Errno = NodeJS.ErrnoException & {address?: string; port?: number; hostname?: string}

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host)

/** Why a listener could not bind, with what to do about it. */
export function describeListenError(error: unknown, fallback?: {host: string; port: number}, flag = '--port'): string {
  const e = error as Errno
  const port = typeof e?.port === 'number' ? e.port : fallback?.port
  const host = typeof e?.address === 'string' ? e.address : fallback?.host ?? 'this address'
  switch (e?.code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use on ${host}; stop the other broker or choose ${flag}`
    case 'EACCES':
    case 'EPERM':
      if (port !== undefined && port < 1024) {
        return `permission denied to listen on ${bracket(host)}:${port}: ports below 1024 need privileges; choose ${flag} 1024 or higher${flag === '--port' ? ' (e.g. 1883)' : ''}, or grant CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE)`
      }
      return `permission denied to listen on ${bracket(host)}:${port}; choose another ${flag} or --host`
    case 'EADDRNOTAVAIL':
      return `address ${host} is not an address of this machine; choose --host 0.0.0.0 (every interface) or one of this machine's addresses`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${JSON.stringify(e.hostname ?? host)} cannot be resolved; choose --host with an IP address such as 0.0.0.0 or 127.0.0.1`
    default:
      return `cannot start the broker: ${e?.message ?? String(error)}`
  }
}

/** Why the data directory cannot be used, with what to do about it. */
export function describeDataDirError(dir: string, error: unknown): string {
  const code = (error as Errno)?.code ?? (error as Error)?.message ?? String(error)
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EROFS'
        ? 'read-only file system'
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a file is in the way'
          : code === 'ENOSPC'
            ? 'no space left on device'
            : code
  return `data directory ${dir} is not writable (${why}); choose another --data-dir or make it writable by this user (chown/chmod)`
}

/** Exit code for any error reaching the top of a command or the runtime. */
export function exitCodeOf(error: unknown): number {
  return error instanceof MqttctlError ? error.exitCode : EXIT.failure
}
