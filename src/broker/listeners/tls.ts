/**
 * MQTT over TLS (8883 by convention): certificate and key files from the listener config.
 * With `ca` set the listener asks for a client certificate and refuses clients without one signed
 * by that CA (mutual TLS). Handshake failures (plain MQTT on this port, an untrusted client
 * certificate) only close that socket; they never reach the broker.
 */
import {readFileSync} from 'node:fs'
import type {Server, Socket} from 'node:net'
import type {SecureContextOptions, TLSSocket} from 'node:tls'
import type {ListenerConfig, TlsConfig} from '../../config/index.js'
import {nodeTls} from '../lazy-builtins.js'
import {startServer} from './tcp.js'

/** A socket that connected but did not finish the TLS handshake within this is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000

type TlsFile = keyof TlsConfig

const WHAT: Record<TlsFile, string> = {cert: 'a PEM certificate (chain) file', key: 'a PEM private key file', ca: 'a PEM CA certificate file'}

/** A TLS file that cannot be read or used; the message is one line naming the setting and the file. */
export class TlsFileError extends Error {
  constructor(
    readonly file: TlsFile,
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'TlsFileError'
  }
}

/** How to name a setting in messages: `listeners[1].tls.cert = "…"` (default) or `--tls-cert "…"` (flags). */
export type TlsLabel = (file: TlsFile, path: string) => string

export const configLabel =
  (where: string): TlsLabel =>
  (file, path) =>
    `${where}.${file} = ${JSON.stringify(path)}`

function why(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory'
    default:
      return (e?.message ?? String(error)).split('\n')[0]
  }
}

/** OpenSSL's reason without its numeric prefix: "error:0480006C:PEM routines::no start line" -> "PEM routines::no start line". */
function sslReason(error: unknown): string {
  const message = (error as Error)?.message ?? String(error)
  return message.split('\n')[0].replace(/^error:[0-9A-F]+:/, '')
}

/**
 * Reads and checks a listener's files: each readable, each parseable by OpenSSL, key matching
 * certificate. Throws TlsFileError with one line such as
 * `listeners[1].tls.cert = "/etc/mqtt/cert.pem" cannot be read: no such file (expected a PEM certificate (chain) file)`.
 */
export function tlsServerOptions(tls: TlsConfig, label: TlsLabel = configLabel('tls')): SecureContextOptions & {requestCert: boolean; rejectUnauthorized: boolean} {
  const read = (file: TlsFile): Buffer | undefined => {
    const path = tls[file]
    if (path === undefined) return undefined
    try {
      return readFileSync(path)
    } catch (error) {
      throw new TlsFileError(file, path, `${label(file, path)} cannot be read: ${why(error)} (expected ${WHAT[file]})`)
    }
  }
  const cert = read('cert')!
  const key = read('key')!
  const ca = read('ca')
  const check = (file: TlsFile, options: SecureContextOptions) => {
    try {
      nodeTls().createSecureContext(options)
    } catch (error) {
      throw new TlsFileError(file, tls[file]!, `${label(file, tls[file]!)} is not usable: ${sslReason(error)} (expected ${WHAT[file]})`)
    }
  }
  check('cert', {cert})
  check('key', {key})
  if (ca) {
    // OpenSSL skips what is not a certificate in a CA bundle: a bundle without any would refuse every client.
    if (!/-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----/.test(ca.toString('latin1'))) {
      throw new TlsFileError('ca', tls.ca!, `${label('ca', tls.ca!)} is not usable: it holds no PEM certificate (expected ${WHAT.ca})`)
    }
    check('ca', {ca})
  }
  try {
    nodeTls().createSecureContext({cert, key})
  } catch (error) {
    const reason = sslReason(error)
    const mismatch = /key values mismatch|KEY_VALUES_MISMATCH/i.test(reason)
    throw new TlsFileError('key', tls.key, `${label('key', tls.key)} ${mismatch ? `does not belong to the certificate ${JSON.stringify(tls.cert)}` : `is not usable with the certificate ${JSON.stringify(tls.cert)}: ${reason}`}`)
  }
  return {cert, key, ca, requestCert: ca !== undefined, rejectUnauthorized: ca !== undefined}
}

export interface ListenTlsOptions {
  /** Names the listener in errors, e.g. "listeners[1].tls"; default "TLS listener HOST:PORT: tls". */
  where?: string
  /** Default HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number
}

/** Listens with TLS; sockets reach onSocket once the handshake is done. */
export function listenTls(listener: ListenerConfig, onSocket: (socket: Socket) => void, options: ListenTlsOptions = {}): Promise<{server: Server; port: number}> {
  let secure: ReturnType<typeof tlsServerOptions>
  try {
    secure = tlsServerOptions(listener.tls!, configLabel(options.where ?? `TLS listener ${listener.host}:${listener.port}: tls`))
  } catch (error) {
    return Promise.reject(error)
  }
  // Sockets still in the handshake: server.close() would wait for them (up to the handshake
  // timeout), so closing the listener drops them.
  const handshaking = new Map<string, Socket>()
  const server = nodeTls().createServer({...secure, handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS}, (socket: TLSSocket) => {
    handshaking.delete(peerKey(socket))
    socket.setNoDelay(true)
    onSocket(socket)
  })
  server.on('connection', (raw: Socket) => {
    const k = peerKey(raw)
    handshaking.set(k, raw)
    raw.once('close', () => {
      if (handshaking.get(k) === raw) handshaking.delete(k)
    })
  })
  // A failed handshake (plain MQTT, wrong CA, no client certificate, timeout) only drops that socket.
  // With a listener here Node leaves the socket open (a timed-out one would linger): destroy it.
  server.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy())
  const close = server.close.bind(server)
  server.close = ((callback?: (err?: Error) => void) => {
    close(callback)
    for (const raw of handshaking.values()) raw.destroy()
    handshaking.clear()
    return server
  }) as typeof server.close
  return startServer(server as unknown as Server, listener)
}

const peerKey = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`
