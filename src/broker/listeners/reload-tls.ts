/**
 * SIGHUP for TLS listeners (tls and wss): re-read the certificate, key and CA files and swap the
 * server's secure context (tls.Server#setSecureContext). Connections already up keep their session;
 * new handshakes use the new files. Files that cannot be used leave the old context in place.
 */
import type {Server} from 'node:net'
import type {Server as TlsServer} from 'node:tls'
import type {ListenerConfig} from '../../config/index.js'
import {configLabel, TlsFileError, tlsServerOptions} from './tls.js'

/** One report line: reloaded, or kept and why. */
export function reloadTls(server: Server, listener: ListenerConfig, index: number): {ok: boolean; line: string} {
  const where = `listeners[${index}].tls`
  try {
    const {cert, key, ca} = tlsServerOptions(listener.tls!, configLabel(where))
    ;(server as unknown as TlsServer).setSecureContext({cert, key, ca})
    return {ok: true, line: `TLS certificate of listener ${listener.host}:${listener.port} reloaded from ${listener.tls!.cert}`}
  } catch (error) {
    const why = error instanceof TlsFileError ? error.message : (error as Error).message
    return {ok: false, line: `kept the previous TLS certificate of listener ${listener.host}:${listener.port}: ${why}`}
  }
}
