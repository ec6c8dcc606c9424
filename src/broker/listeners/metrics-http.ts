/**
 * The metrics HTTP listener (thin: the text comes from stats/prometheus.ts).
 *   GET /metrics  Prometheus text format 0.0.4
 *   GET /healthz  200 "ok" while the broker is up, 503 while it is shutting down
 * Anything else: 404. Bound to 127.0.0.1 unless configured otherwise.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface MetricsHttpOptions {
  host: string
  /** 0 = ephemeral. */
  port: number
  /** Exposition text, built per request (a promise: gathered from elsewhere, e.g. the --workers primary asking its workers). */
  metrics(): string | Promise<string>
  contentType: string
  healthy(): boolean
}

export interface MetricsHttpServer {
  readonly host: string
  readonly port: number
  close(): Promise<void>
}

export async function startMetricsHttp(options: MetricsHttpOptions): Promise<MetricsHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const method = req.method ?? 'GET'
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain'}).end('method not allowed\n')
      return
    }
    if (path === '/metrics') {
      Promise.resolve()
        .then(() => options.metrics())
        .then(
          (body) => {
            res.writeHead(200, {'content-type': options.contentType, 'content-length': Buffer.byteLength(body)})
            res.end(method === 'HEAD' ? undefined : body)
          },
          (error: Error) => res.writeHead(500, {'content-type': 'text/plain'}).end(`metrics failed: ${error.message}\n`),
        )
    } else if (path === '/healthz' || path === '/readyz') {
      const ok = options.healthy()
      res.writeHead(ok ? 200 : 503, {'content-type': 'text/plain'}).end(ok ? 'ok\n' : 'shutting down\n')
    } else {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found: try /metrics or /healthz\n')
    }
  })
  // Scrapers keep connections alive; never let one hold the broker open at close.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
