/** A plain TCP listener; sockets start paused and are handed to the broker (which applies ioEntries). */
import {type Server, type Socket, createServer} from 'node:net'
import type {ListenerConfig} from '../../config/index.js'

/** Listens, resolving with the real port (port 0 = ephemeral); rejects with the original error (err.code kept). */
export function startServer(server: Server, listener: ListenerConfig): Promise<{server: Server; port: number}> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen({host: listener.host, port: listener.port, backlog: 65_535}, () => {
      server.off('error', onError)
      server.on('error', () => {}) // accept errors (EMFILE...) must not crash the process
      const addr = server.address()
      resolve({server, port: typeof addr === 'object' && addr !== null ? addr.port : listener.port})
    })
  })
}

export function listenTcp(listener: ListenerConfig, onSocket: (socket: Socket) => void): Promise<{server: Server; port: number}> {
  const server = createServer({pauseOnConnect: true, noDelay: true}, onSocket)
  return startServer(server, listener)
}
