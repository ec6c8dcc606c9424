/**
 * MQTT over WebSocket (MQTT 5.0 §6, MQTT 3.1.1 §6) with the `ws` package: a listener entry with
 * `"websocket": true` serves HTTP upgrades on `path` (default /mqtt), over TLS (wss) when it has
 * `tls`. Each upgraded WebSocket becomes a byte stream the broker treats like a TCP socket, so limits,
 * authentication, statistics and backpressure are the same: MQTT packets may span WebSocket frames
 * and one frame may carry several packets [MQTT-6.0.0-2]; text frames close the connection [MQTT-6.0.0-1].
 *
 * Subprotocol: "mqtt" (and "mqttv3.1" for MQTT 3.1 clients) is selected [MQTT-6.0.0-3/4]; a client that
 * offers only other subprotocols is refused (HTTP 400). A client offering none is accepted, as
 * Mosquitto does. Plain HTTP requests get 426 Upgrade Required.
 *
 * `ws`, node:http and node:https load on the first WebSocket listener only (dynamic imports, which
 * `mqttctl build`'s bundle keeps lazy too): a broker without one never pays for them (about 10 MB of
 * RSS; docs/sizing.md).
 */
import type {IncomingMessage, Server as HttpServer} from 'node:http'
import type {Server, Socket} from 'node:net'
import type {Duplex} from 'node:stream'
import type {WebSocket} from 'ws'
import type {ListenerConfig} from '../../config/index.js'
import {startServer} from './tcp.js'
import {configLabel, HANDSHAKE_TIMEOUT_MS, tlsServerOptions} from './tls.js'

export const DEFAULT_WS_PATH = '/mqtt'
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1']

export interface ListenWsOptions {
  /** Largest WebSocket message accepted (the broker passes limits.maxPacketSize + 5 header bytes). */
  maxPayload: number
  /** Names the listener in TLS file errors, e.g. "listeners[2].tls". */
  where?: string
  /** An HTTP request must complete its headers within this (default HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number
}

/** What an upgraded WebSocket looks like to the broker: a stream with the peer's address. */
export type WsSocket = Duplex & {remoteAddress?: string; remotePort?: number; encrypted?: boolean}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text) + 1}\r\n\r\n${text}\n`)
  socket.destroy()
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?')
  return q < 0 ? (url ?? '/') : url!.slice(0, q)
}

/** Opens the HTTP(S) server; every upgraded WebSocket on `path` is handed to onSocket as a stream. */
export async function listenWs(listener: ListenerConfig, onSocket: (socket: Socket) => void, options: ListenWsOptions): Promise<{server: Server; port: number}> {
  const path = listener.path ?? DEFAULT_WS_PATH
  const [{WebSocketServer, createWebSocketStream}, http, https] = await Promise.all([import('ws'), import('node:http'), listener.tls ? import('node:https') : undefined])
  let server: HttpServer
  try {
    server = https && listener.tls
      ? https.createServer({...tlsServerOptions(listener.tls, configLabel(options.where ?? `WebSocket listener ${listener.host}:${listener.port}: tls`)), handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS})
      : http.createServer()
  } catch (error) {
    return Promise.reject(error)
  }
  server.headersTimeout = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS
  server.requestTimeout = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPayload,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  server.on('request', (req, res) => {
    res.writeHead(426, {'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'close'})
    res.end(`MQTT over WebSocket: connect with subprotocol "mqtt" to ${path}\n`)
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    if (pathOf(req.url) !== path) return reject(socket, 404, `MQTT over WebSocket is served on ${path}`)
    const offered = req.headers['sec-websocket-protocol']
    if (offered !== undefined && !offered.split(',').some((p) => SUBPROTOCOLS.includes(p.trim()))) {
      return reject(socket, 400, 'subprotocol "mqtt" required')
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => onSocket(wrap(ws, req, Boolean(listener.tls), createWebSocketStream) as unknown as Socket))
  })
  server.on('tlsClientError', (_error: Error, socket: Duplex) => socket.destroy())
  server.on('clientError', (_error: Error, socket: Duplex) => socket.destroy())
  return startServer(server as unknown as Server, listener)
}

function wrap(ws: WebSocket, req: IncomingMessage, tls: boolean, createWebSocketStream: typeof import('ws').createWebSocketStream): WsSocket {
  let stream: WsSocket | undefined
  // A text frame is not MQTT [MQTT-6.0.0-1]: close the connection. Registered before the stream's own
  // listener, so the text never reaches the broker's decoder.
  ws.on('message', (_data, isBinary) => {
    if (!isBinary) stream?.destroy()
  })
  stream = createWebSocketStream(ws) as WsSocket
  stream.remoteAddress = req.socket.remoteAddress
  stream.remotePort = req.socket.remotePort
  stream.encrypted = tls
  // Until the broker's Connection takes the stream, an error must have a listener.
  stream.on('error', () => {})
  return stream
}
