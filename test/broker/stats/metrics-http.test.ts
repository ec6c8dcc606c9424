import {Agent, request} from 'node:http'
import {afterEach, describe, expect, it} from 'vitest'
import {type MetricsHttpServer, startMetricsHttp} from '../../../src/broker/listeners/metrics-http.js'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function fetchRaw(port: number, path: string, method = 'GET', agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path, method, agent}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('metrics HTTP listener (127.0.0.1, ephemeral port)', () => {
  const servers: MetricsHttpServer[] = []
  const agents: Agent[] = []
  let healthy = true
  let scrapes = 0

  const start = async (port = 0): Promise<MetricsHttpServer> => {
    const server = await startMetricsHttp({
      host: '127.0.0.1',
      port,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: () => `# scrape ${++scrapes}\nmqtt_broker_connections 3\nsmile_bytes{x="é"} 1\n`,
      healthy: () => healthy,
    })
    servers.push(server)
    return server
  }

  afterEach(async () => {
    for (const a of agents.splice(0)) a.destroy()
    await Promise.all(servers.splice(0).map((s) => s.close()))
    healthy = true
  })

  it('GET /metrics: 200, the exposition built per request, its content type and byte length', async () => {
    const s = await start()
    expect(s.host).toBe('127.0.0.1')
    expect(s.port).toBeGreaterThan(0)
    const a = await fetchRaw(s.port, '/metrics')
    const b = await fetchRaw(s.port, '/metrics?name[]=x')
    expect(a.status).toBe(200)
    expect(a.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body))
    expect(a.body).toMatch(/^# scrape \d+\nmqtt_broker_connections 3\nsmile_bytes\{x="é"\} 1\n$/)
    expect(b.status).toBe(200)
    expect(b.body).not.toBe(a.body)
  })

  it('HEAD /metrics: the headers without a body', async () => {
    const s = await start()
    const r = await fetchRaw(s.port, '/metrics', 'HEAD')
    expect(r.status).toBe(200)
    expect(Number(r.headers['content-length'])).toBeGreaterThan(0)
    expect(r.body).toBe('')
  })

  it('/healthz and /readyz: 200 while healthy, 503 once shutting down', async () => {
    const s = await start()
    expect(await fetchRaw(s.port, '/healthz')).toMatchObject({status: 200, body: 'ok\n'})
    expect(await fetchRaw(s.port, '/readyz')).toMatchObject({status: 200, body: 'ok\n'})
    healthy = false
    expect(await fetchRaw(s.port, '/healthz')).toMatchObject({status: 503, body: 'shutting down\n'})
  })

  it('other paths 404, other methods 405 with Allow', async () => {
    const s = await start()
    const before = scrapes
    expect(await fetchRaw(s.port, '/')).toMatchObject({status: 404})
    expect(await fetchRaw(s.port, '/metrics/../secret')).toMatchObject({status: 404})
    const post = await fetchRaw(s.port, '/metrics', 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    expect(await fetchRaw(s.port, '/metrics', 'DELETE')).toMatchObject({status: 405})
    expect(scrapes).toBe(before) // refused requests never build the text
  })

  it('close() ends a kept-alive scraper connection instead of waiting for it', async () => {
    const s = await start()
    const agent = new Agent({keepAlive: true, maxSockets: 1})
    agents.push(agent)
    expect((await fetchRaw(s.port, '/metrics', 'GET', agent)).status).toBe(200)
    expect(Object.values(agent.freeSockets).flat().length).toBe(1) // the socket is idle and open
    await servers.pop()!.close()
    await expect(fetchRaw(s.port, '/metrics')).rejects.toMatchObject({code: 'ECONNREFUSED'})
  })

  it('rejects when the port is taken (the broker then names --metrics-port)', async () => {
    const s = await start()
    await expect(start(s.port)).rejects.toMatchObject({code: 'EADDRINUSE'})
  })
})
