/** `mqttctl tls dev-ca`: files, labels, modes, refusal to overwrite, and a real TLS handshake with them. */
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {connect, createServer} from 'node:tls'
import {X509Certificate} from 'node:crypto'
import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const root = new URL('../..', import.meta.url).pathname
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttctl-devca-'))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('mqttctl tls dev-ca', () => {
  it('writes a CA and a server certificate labelled not for production, keys 0600, usable for TLS', async () => {
    const out = join(dir, 'ca1')
    const r = await runCommand(['tls', 'dev-ca', '--out', out, '--host', 'broker.lan', '--host', '10.1.2.3', '--json'], {root}, {testNodeEnv: 'production'})
    expect(r.error).toBeUndefined()
    const result = JSON.parse(r.stdout)
    expect(result.names).toEqual(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'DNS:broker.lan', 'IP:10.1.2.3'])
    expect(readdirSync(out).sort()).toEqual(['NOT-FOR-PRODUCTION.txt', 'ca.key', 'ca.pem', 'server.key', 'server.pem'])
    expect(statSync(join(out, 'ca.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(out, 'server.key')).mode & 0o777).toBe(0o600)
    const ca = new X509Certificate(readFileSync(join(out, 'ca.pem')))
    const cert = new X509Certificate(readFileSync(join(out, 'server.pem')))
    expect(ca.subject).toContain('NOT FOR PRODUCTION')
    expect(cert.subject).toContain('NOT FOR PRODUCTION')
    expect(ca.ca).toBe(true)
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.checkHost('broker.lan')).toBe('broker.lan')
    expect(cert.checkIP('10.1.2.3')).toBe('10.1.2.3')

    // A real handshake: the server with server.pem/key, a client trusting only ca.pem.
    const server = createServer({cert: readFileSync(join(out, 'server.pem')), key: readFileSync(join(out, 'server.key'))}, (s) => s.end('hi'))
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    const port = (server.address() as {port: number}).port
    const got = await new Promise<string>((res, rej) => {
      const c = connect({host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(join(out, 'ca.pem'))}, () => {
        c.once('data', (d) => {
          res(d.toString())
          c.end()
        })
      })
      c.on('error', rej)
    })
    server.close()
    expect(got).toBe('hi')
  })

  it('refuses to replace existing files without --force; bad --host', async () => {
    const out = join(dir, 'ca2')
    expect((await runCommand(['tls', 'dev-ca', '--out', out], {root}, {testNodeEnv: 'production'})).error).toBeUndefined()
    const before = readFileSync(join(out, 'ca.pem'), 'utf8')
    const again = await runCommand(['tls', 'dev-ca', '--out', out], {root}, {testNodeEnv: 'production'})
    expect(again.stderr).toMatch(/ca\.pem already exists; use --force to replace the development CA/)
    expect(again.error?.oclif?.exit).toBe(2)
    expect(readFileSync(join(out, 'ca.pem'), 'utf8')).toBe(before)
    expect((await runCommand(['tls', 'dev-ca', '--out', out, '--force'], {root}, {testNodeEnv: 'production'})).error).toBeUndefined()
    expect(readFileSync(join(out, 'ca.pem'), 'utf8')).not.toBe(before)
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]) // no temp directory left
    const bad = await runCommand(['tls', 'dev-ca', '--out', join(dir, 'ca3'), '--host', 'bad_host!'], {root}, {testNodeEnv: 'production'})
    expect(bad.stderr).toMatch(/--host "bad_host!" is not allowed/)
  })
})
