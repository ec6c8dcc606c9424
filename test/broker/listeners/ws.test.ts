/**
 * listeners/ws.ts on its own (no broker): listenWs on 127.0.0.1 hands each upgraded WebSocket to the
 * caller as a byte stream. HTTP edges (path, query, 426, 404, subprotocols), binary bytes across
 * frames, text frames and oversized messages closing the stream, the peer's address, wss, bad TLS files.
 */
import {readFileSync} from 'node:fs'
import {request} from 'node:http'
import type {Server, Socket} from 'node:net'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {WebSocket} from 'ws'
import {listenWs, type WsSocket} from '../../../src/broker/listeners/ws.js'
import type {ListenerConfig} from '../../../src/config/index.js'
import {makeCerts, type TestCerts} from '../tls/certs.js'

const servers: Server[] = []
const clients: WebSocket[] = []
const streams: WsSocket[] = []
let certs: TestCerts
beforeAll(async () => (certs = await makeCerts()), 60_000)
afterAll(() => certs?.cleanup())
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate()
  for (const s of streams.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/** A listener whose upgraded streams are queued for the test to take. */
async function serve(extra: Partial<ListenerConfig> = {}, maxPayload = 1024) {
  const waiting: Array<(s: WsSocket) => void> = []
  const ready: WsSocket[] = []
  const {server, port} = await listenWs({host: '127.0.0.1', port: 0, websocket: true, ...extra}, (sock: Socket) => {
    const s = sock as unknown as WsSocket
    streams.push(s)
    const give = waiting.shift()
    give ? give(s) : ready.push(s)
  }, {maxPayload})
  servers.push(server)
  const next = (): Promise<WsSocket> => (ready.length > 0 ? Promise.resolve(ready.shift()!) : new Promise((r) => waiting.push(r)))
  return {port, next}
}

function open(url: string, protocols?: string | string[], options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    clients.push(ws)
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

const closed = (s: WsSocket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())))

describe('listenWs', () => {
  it('serves /mqtt by default (query string ignored), selects "mqtt", and streams binary frames as bytes', async () => {
    const {port, next} = await serve()
    const ws = await open(`ws://127.0.0.1:${port}/mqtt?token=x`, ['other', 'mqtt'])
    expect(ws.protocol).toBe('mqtt')
    const s = await next()
    expect(s.remoteAddress).toBe('127.0.0.1')
    expect(typeof s.remotePort).toBe('number')
    expect(s.encrypted).toBe(false)
    const got: Buffer[] = []
    s.on('data', (d: Buffer) => got.push(d))
    ws.send(Buffer.from([0x10, 0x02]))
    ws.send(Buffer.from([0x00, 0x00, 0xc0, 0x00])) // a packet split across frames, then one more packet
    await new Promise<void>((r) => {
      const check = () => (Buffer.concat(got).length >= 6 ? r() : s.once('data', check))
      check()
    })
    expect(Buffer.concat(got)).toEqual(Buffer.from([0x10, 0x02, 0x00, 0x00, 0xc0, 0x00]))
    const back = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)))
    s.write(Buffer.from([0xd0, 0x00]))
    expect(await back).toEqual(Buffer.from([0xd0, 0x00]))
  })

  it('selects "mqttv3.1" for MQTT 3.1 clients and accepts a client that offers no subprotocol', async () => {
    const {port} = await serve()
    expect((await open(`ws://127.0.0.1:${port}/mqtt`, 'mqttv3.1')).protocol).toBe('mqttv3.1')
    expect((await open(`ws://127.0.0.1:${port}/mqtt`)).protocol).toBe('')
  })

  it('refuses only-other subprotocols (400), another path (404), on a configured path too', async () => {
    const {port} = await serve({path: '/broker'})
    await expect(open(`ws://127.0.0.1:${port}/broker`, ['chat', 'stomp'])).rejects.toThrow('HTTP 400')
    await expect(open(`ws://127.0.0.1:${port}/mqtt`, 'mqtt')).rejects.toThrow('HTTP 404')
    expect((await open(`ws://127.0.0.1:${port}/broker`, 'mqtt')).protocol).toBe('mqtt')
  })

  it('answers a plain HTTP request with 426 Upgrade Required naming the path', async () => {
    const {port} = await serve()
    const res = await new Promise<{status?: number; body: string}>((resolve, reject) => {
      request({host: '127.0.0.1', port, path: '/'}, (r) => {
        let body = ''
        r.on('data', (d) => (body += d))
        r.on('end', () => resolve({status: r.statusCode, body}))
      })
        .on('error', reject)
        .end()
    })
    expect(res.status).toBe(426)
    expect(res.body).toContain('connect with subprotocol "mqtt" to /mqtt')
  })

  it('a text frame closes the stream before its bytes reach the reader [MQTT-6.0.0-1]', async () => {
    const {port, next} = await serve()
    const ws = await open(`ws://127.0.0.1:${port}/mqtt`, 'mqtt')
    const s = await next()
    const first = new Promise<string>((r) => s.once('data', (d: Buffer) => r(`data: ${d}`)))
    ws.send('CONNECT as text')
    expect(await Promise.race([closed(s).then(() => 'closed'), first])).toBe('closed')
  })

  it('a message larger than maxPayload closes the connection (1009), one at the bound passes', async () => {
    const {port, next} = await serve({}, 16)
    const ws = await open(`ws://127.0.0.1:${port}/mqtt`, 'mqtt')
    const s = await next()
    const got: Buffer[] = []
    s.on('data', (d: Buffer) => got.push(d))
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)))
    ws.send(Buffer.alloc(16, 1))
    ws.send(Buffer.alloc(17, 2))
    expect(await code).toBe(1009)
    expect(Buffer.concat(got)).toEqual(Buffer.alloc(16, 1))
  })

  it('wss: serves over TLS and marks the stream encrypted', async () => {
    const {port, next} = await serve({tls: {cert: certs.serverCert, key: certs.serverKey}})
    const ws = await open(`wss://localhost:${port}/mqtt`, 'mqtt', {ca: readFileSync(certs.ca)})
    expect(ws.protocol).toBe('mqtt')
    expect((await next()).encrypted).toBe(true)
  })

  it('unusable TLS files reject with one line naming the setting and the file', async () => {
    const missing = `${certs.dir}/nope.pem`
    const listener: ListenerConfig = {host: '127.0.0.1', port: 0, websocket: true, tls: {cert: missing, key: certs.serverKey}}
    await expect(listenWs(listener, () => {}, {maxPayload: 10, where: 'listeners[3].tls'})).rejects.toThrow(`listeners[3].tls.cert = ${JSON.stringify(missing)} cannot be read: no such file`)
  })
})
