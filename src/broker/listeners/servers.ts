/**
 * The broker's listening servers: one per configured listener (TCP, TLS, WebSocket or wss), opened
 * together (all or none), their TLS certificates reloaded on SIGHUP, and closed on shutdown.
 */
import type {Server} from 'node:net'
import type {ListenerConfig} from '../../config/index.js'
import type {ListeningAddress} from '../api.js'
import type {ClientSocket} from '../client-socket.js'
import {reloadTls} from './reload-tls.js'
import {listenTcp} from './tcp.js'
import {listenTls} from './tls.js'
import {listenWs} from './ws.js'

export class Servers {
  #servers: Server[] = []
  /** TLS and wss listeners with their index in the configuration, for reload(). */
  #tls: Array<{server: Server; index: number}> = []

  /**
   * Opens every listener in order; `onSocket` gets each new client socket. When one fails, the ones
   * already open are closed again and the error is thrown (err.code kept).
   */
  async open(listeners: readonly ListenerConfig[], maxPacketSize: number, onSocket: (socket: ClientSocket) => void): Promise<ListeningAddress[]> {
    const addresses: ListeningAddress[] = []
    try {
      for (const [index, l] of listeners.entries()) {
        const {server, port} = l.websocket
          ? await listenWs(l, onSocket, {maxPayload: maxPacketSize + 5, where: `listeners[${index}].tls`})
          : l.tls
            ? await listenTls(l, onSocket)
            : await listenTcp(l, onSocket)
        this.#servers.push(server)
        if (l.tls) this.#tls.push({server, index})
        addresses.push({host: l.host, port, tls: Boolean(l.tls), ...(l.websocket ? {websocket: true} : {})})
      }
    } catch (err) {
      await this.close()
      throw err
    }
    return addresses
  }

  /** Re-reads every TLS listener's certificate files: one line per listener; ok false when one was kept. */
  reloadTls(listeners: readonly ListenerConfig[]): {ok: boolean; lines: string[]} {
    let ok = true
    const lines: string[] = []
    for (const {server, index} of this.#tls) {
      const r = reloadTls(server, listeners[index], index)
      ok &&= r.ok
      lines.push(r.line)
    }
    return {ok, lines}
  }

  /** Stops accepting; resolves once every server has closed. */
  close(): Promise<void> {
    const servers = this.#servers
    this.#servers = []
    this.#tls = []
    return Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => undefined)
  }
}
