/** MQTT over TLS (8883 by convention): certificate and key files from the listener config. */
import {readFileSync} from 'node:fs'
import type {Server, Socket} from 'node:net'
import {createServer} from 'node:tls'
import type {ListenerConfig} from '../../config/index.js'
import {startServer} from './tcp.js'

export function listenTls(listener: ListenerConfig, onSocket: (socket: Socket) => void): Promise<{server: Server; port: number}> {
  const tls = listener.tls!
  const server = createServer(
    {
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      ca: tls.ca === undefined ? undefined : readFileSync(tls.ca),
      requestCert: tls.ca !== undefined,
      rejectUnauthorized: tls.ca !== undefined,
    },
    onSocket,
  )
  server.on('tlsClientError', () => {})
  return startServer(server as unknown as Server, listener)
}
