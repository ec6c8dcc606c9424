/**
 * Addresses and ports, shared by status, doctor, bench and the tests: which host to connect to for
 * a listener, and TCP port probes. node:* imports only (the broker runtime's option parsing uses it).
 */
import type {ChildProcess} from 'node:child_process'
import net from 'node:net'

/** A listen address meaning every interface: 0.0.0.0, :: or [::]. */
export function isAnyAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]'
}

/** Host to connect to for a listener bound to `host`: an any-address (or '', as Node.js takes it) becomes loopback of its family. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '::1'
  return host
}

/** "host:port", with an IPv6 host in brackets: "[::1]:1883". */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** One line per listener, e.g. "0.0.0.0:1883" or "[::]:8883 (tls)". */
export function listenerText(l: {host: string; port: number; tls?: unknown; websocket?: boolean}): string {
  if (l.websocket) return `${hostPort(l.host, l.port)} (${l.tls ? 'wss' : 'ws'})`
  return `${hostPort(l.host, l.port)}${l.tls ? ' (tls)' : ''}`
}

/** A TCP port that was free on `host` a moment ago (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const {port} = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

/** Tries to bind host:port the way the broker would; resolves the error code, or null when free. */
export function probePort(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'ERROR'))
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve(null)))
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or throws after timeoutMs (or when `child` exits). */
export async function waitForPort(port: number, timeoutMs = 15_000, child?: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`broker exited with code ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({port, host: '127.0.0.1'})
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`)
}
