/**
 * Servers (src/broker/listeners/servers.ts) on 127.0.0.1: every listener opens, in order, with its
 * real port; when one fails the ones already open are closed again (all or none) and the original
 * error is thrown; close() stops accepting; no TLS listener means an empty reload report.
 */
import {connect, createServer, type Server} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG, type ListenerConfig} from '../../../src/config/index.js'
import {Servers} from '../../../src/broker/listeners/servers.js'
import {freePort} from '../../../src/net.js'

const blockers: Server[] = []
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

const tcp = (port: number): ListenerConfig => ({...DEFAULT_CONFIG.listeners[0], host: '127.0.0.1', port})

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({host: '127.0.0.1', port})
    c.once('connect', () => {
      c.destroy()
      resolve(false)
    })
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'))
  })
}

async function busyPort(): Promise<number> {
  const s = createServer()
  blockers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return (s.address() as {port: number}).port
}

describe('Servers', () => {
  it('opens every listener with its real port, hands sockets over, and close() stops accepting', async () => {
    const servers = new Servers()
    let sockets = 0
    const addresses = await servers.open([tcp(0), tcp(0)], 1024, (s) => {
      sockets++
      s.destroy()
    })
    expect(addresses).toHaveLength(2)
    expect(addresses.every((a) => a.host === '127.0.0.1' && a.port > 0 && a.tls === false && !('websocket' in a))).toBe(true)
    expect(addresses[0].port).not.toBe(addresses[1].port)
    expect(await refused(addresses[1].port)).toBe(false)
    expect(servers.reloadTls([tcp(0), tcp(0)])).toEqual({ok: true, lines: []}) // no TLS listener: nothing to reload
    await servers.close()
    expect(await refused(addresses[0].port)).toBe(true)
    expect(await refused(addresses[1].port)).toBe(true)
    expect(sockets).toBe(1)
  })

  it('all or none: a listener that cannot bind closes those already open and throws its error', async () => {
    const servers = new Servers()
    const first = await freePort()
    const taken = await busyPort()
    const error = await servers.open([tcp(first), tcp(taken)], 1024, () => {}).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error?.code).toBe('EADDRINUSE')
    expect(await refused(first)).toBe(true) // the first listener is not left open
    // The same Servers starts from nothing: it can open again and close what it opened.
    const again = await servers.open([tcp(first)], 1024, () => {})
    expect(again.map((a) => a.port)).toEqual([first])
    await servers.close()
    expect(await refused(first)).toBe(true)
  })
})
