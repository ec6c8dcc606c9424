/**
 * The plain TCP listener (src/broker/listeners/tcp.ts) on 127.0.0.1: port 0 resolves with the real
 * port, sockets reach the broker paused (nothing is read before the broker resumes them), a bind
 * failure rejects with the original error code, and a server error after listening (EMFILE on
 * accept) is swallowed instead of crashing the process.
 */
import {connect, createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG, type ListenerConfig} from '../../../src/config/index.js'
import {listenTcp, startServer} from '../../../src/broker/listeners/tcp.js'

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

const listener = (port: number, host = '127.0.0.1'): ListenerConfig => ({...DEFAULT_CONFIG.listeners[0], host, port})

function accepted(): {onSocket: (s: Socket) => void; next: Promise<Socket>} {
  let give!: (s: Socket) => void
  const next = new Promise<Socket>((r) => (give = r))
  return {
    onSocket: (s) => {
      sockets.push(s)
      give(s)
    },
    next,
  }
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = connect({host: '127.0.0.1', port}, () => resolve(c))
    c.once('error', reject)
    sockets.push(c)
  })
}

describe('listenTcp', () => {
  it('port 0: resolves with the ephemeral port; a client socket reaches onSocket paused, and reads once resumed', async () => {
    const a = accepted()
    const {server, port} = await listenTcp(listener(0), a.onSocket)
    servers.push(server)
    expect(port).toBeGreaterThan(0)
    expect((server.address() as {port: number}).port).toBe(port)

    const client = await dial(port)
    const socket = await a.next
    expect(socket.isPaused()).toBe(true)
    let got = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])))
    client.write('hello')
    // Paused until the broker resumes it: the bytes wait in the kernel. A round trip on a second
    // connection proves the server has had every chance to read the first.
    const other = accepted()
    const {server: probe, port: probePort} = await listenTcp(listener(0), other.onSocket)
    servers.push(probe)
    await dial(probePort)
    await other.next
    expect(got.length).toBe(0)
    socket.resume()
    await new Promise<void>((r) => socket.once('data', () => r()))
    expect(got.toString()).toBe('hello')
  })

  it('a port in use: rejects with the original error (code EADDRINUSE), nothing left listening', async () => {
    const first = await listenTcp(listener(0), () => {})
    servers.push(first.server)
    const error = await listenTcp(listener(first.port), () => {}).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error?.code).toBe('EADDRINUSE')
  })

  it('an address that is not this machine\'s: rejects with EADDRNOTAVAIL', async () => {
    const error = await startServer(createServer(), listener(0, '192.0.2.1')).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error?.code).toBe('EADDRNOTAVAIL')
  })

  it('an error after listening (EMFILE while accepting) does not throw: the server keeps listening', async () => {
    const a = accepted()
    const {server, port} = await listenTcp(listener(0), a.onSocket)
    servers.push(server)
    const emfile = Object.assign(new Error('accept EMFILE'), {code: 'EMFILE'})
    expect(() => server.emit('error', emfile)).not.toThrow()
    expect(server.listening).toBe(true)
    await dial(port)
    await a.next
  })
})
