/**
 * listeners/reload-tls.ts: SIGHUP's certificate swap on a real TLS listener. New handshakes get the
 * new certificate; files that cannot be used keep the old one and say why in one line.
 */
import {copyFileSync, writeFileSync} from 'node:fs'
import type {Server, Socket} from 'node:net'
import {join} from 'node:path'
import {connect} from 'node:tls'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {reloadTls} from '../../../src/broker/listeners/reload-tls.js'
import {listenTls} from '../../../src/broker/listeners/tls.js'
import type {ListenerConfig} from '../../../src/config/index.js'
import {makeCerts, type TestCerts} from '../tls/certs.js'

let a: TestCerts
let b: TestCerts
let server: Server
let port: number
let listener: ListenerConfig
const accepted: Socket[] = []

beforeAll(async () => {
  ;[a, b] = await Promise.all([makeCerts(), makeCerts()])
  // The listener reads its files from paths the test rewrites, as an operator renewing a certificate does.
  copyFileSync(a.serverCert, join(a.dir, 'live-cert.pem'))
  copyFileSync(a.serverKey, join(a.dir, 'live-key.pem'))
  listener = {host: '127.0.0.1', port: 0, tls: {cert: join(a.dir, 'live-cert.pem'), key: join(a.dir, 'live-key.pem')}}
  ;({server, port} = await listenTls(listener, (s) => accepted.push(s.on('error', () => {}))))
}, 60_000)
afterAll(async () => {
  for (const s of accepted) s.destroy()
  await new Promise((r) => server?.close(r))
  a?.cleanup()
  b?.cleanup()
})

/** The fingerprint of the certificate the listener presents to a new handshake. */
function served(): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({host: '127.0.0.1', port, rejectUnauthorized: false}, () => {
      resolve(c.getPeerCertificate().fingerprint256)
      c.destroy()
    })
    c.once('error', reject)
  })
}

describe('reloadTls', () => {
  it('swaps in renewed files: the report names the listener and file, new handshakes see the new certificate', async () => {
    const before = await served()
    copyFileSync(b.serverCert, listener.tls!.cert)
    copyFileSync(b.serverKey, listener.tls!.key)
    const r = reloadTls(server, {...listener, port}, 0)
    expect(r).toEqual({ok: true, line: `TLS certificate of listener 127.0.0.1:${port} reloaded from ${listener.tls!.cert}`})
    const after = await served()
    expect(after).not.toBe(before)
    expect(await served()).toBe(after)
  })

  it('a missing file keeps the previous certificate, and the line names the setting and why', async () => {
    const current = await served()
    const r = reloadTls(server, {...listener, port, tls: {cert: join(a.dir, 'gone.pem'), key: listener.tls!.key}}, 2)
    expect(r.ok).toBe(false)
    expect(r.line).toBe(`kept the previous TLS certificate of listener 127.0.0.1:${port}: listeners[2].tls.cert = ${JSON.stringify(join(a.dir, 'gone.pem'))} cannot be read: no such file (expected a PEM certificate (chain) file)`)
    expect(await served()).toBe(current)
  })

  it('a key that does not match the certificate, or a file that is not PEM, is refused too', async () => {
    const current = await served()
    const mismatch = reloadTls(server, {...listener, port, tls: {cert: a.serverCert, key: b.serverKey}}, 0)
    expect(mismatch.ok).toBe(false)
    expect(mismatch.line).toMatch(/^kept the previous TLS certificate of listener 127\.0\.0\.1:\d+: listeners\[0\]\.tls\./)
    const junk = join(a.dir, 'junk.pem')
    writeFileSync(junk, 'not a certificate\n')
    const notPem = reloadTls(server, {...listener, port, tls: {cert: junk, key: a.serverKey}}, 0)
    expect(notPem.ok).toBe(false)
    expect(notPem.line).toContain(`listeners[0].tls.cert = ${JSON.stringify(junk)}`)
    expect(notPem.line.split('\n')).toHaveLength(1)
    expect(await served()).toBe(current)
  })
})
