/** src/tls/dev-ca.ts directly: the certificates' fields read back with node:crypto, a real TLS handshake, and failures that leave nothing behind. */
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import tls from 'node:tls'
import {afterAll, describe, expect, it} from 'vitest'
import {MqttctlError} from '../../src/errors.js'
import {DAYS, DevCaError, FILES, makeDevCa} from '../../src/tls/dev-ca.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-devca-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
const DAY = 86_400_000

async function refusal(p: Promise<unknown>): Promise<DevCaError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(e).toBeInstanceOf(DevCaError)
  expect(e).toBeInstanceOf(MqttctlError)
  return e as DevCaError
}

describe('makeDevCa', () => {
  const dir = join(root, 'ca', 'nested')
  let made: Awaited<ReturnType<typeof makeDevCa>>

  it('a CA (critical CA:TRUE, pathlen 0) and a server certificate it signed, both labelled and lasting DAYS days', async () => {
    made = await makeDevCa({dir, hosts: ['sensors.example.lan', '10.1.2.3', 'fe80::1', '*.lab.example', 'localhost']})
    expect(made).toMatchObject({dir, days: DAYS, caCert: join(dir, FILES.caCert), cert: join(dir, FILES.cert)})
    const ca = new X509Certificate(readFileSync(made.caCert))
    const server = new X509Certificate(readFileSync(made.cert))
    expect(ca.ca).toBe(true)
    expect(server.ca).toBe(false)
    expect(ca.subject).toContain('NOT FOR PRODUCTION')
    expect(server.subject).toContain('NOT FOR PRODUCTION')
    expect(server.issuer).toBe(ca.subject)
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(server.checkIssued(ca)).toBe(true)
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    for (const c of [ca, server]) {
      const days = (Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY
      expect(Math.round(days)).toBe(DAYS)
    }
    expect(server.keyUsage ?? ['1.3.6.1.5.5.7.3.1']).toContain('1.3.6.1.5.5.7.3.1')
  })

  it('the server certificate names localhost, the loopback addresses and each extra host once', () => {
    expect(made.names).toEqual(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'DNS:sensors.example.lan', 'IP:10.1.2.3', 'IP:fe80::1', 'DNS:*.lab.example'])
    const server = new X509Certificate(readFileSync(made.cert))
    expect(server.checkHost('sensors.example.lan')).toBe('sensors.example.lan')
    expect(server.checkHost('a.lab.example')).toBe('*.lab.example')
    expect(server.checkIP('10.1.2.3')).toBe('10.1.2.3')
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(server.checkHost('other.example')).toBeUndefined()
    expect(readFileSync(join(dir, FILES.readme), 'utf8')).toContain(`Server certificate names: ${made.names.join(', ')}`)
  })

  it('keys are 0600, the directory 0700, and only the five files are left (no CSR, serial or temp directory)', () => {
    expect(statSync(made.caKey).mode & 0o777).toBe(0o600)
    expect(statSync(made.key).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(readdirSync(dir).sort()).toEqual(Object.values(FILES).sort())
  })

  it('a TLS client that trusts only ca.pem completes a handshake with server.pem for localhost', async () => {
    const server = tls.createServer({cert: readFileSync(made.cert), key: readFileSync(made.key)}, (s) => s.end('ok'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as {port: number}).port
      const got = await new Promise<string>((resolve, reject) => {
        const c = tls.connect({host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(made.caCert)}, () => c.once('data', (d) => (resolve(d.toString()), c.end())))
        c.once('error', reject)
      })
      expect(got).toBe('ok')
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  it('refuses to replace existing files without force, then replaces all of them with it', async () => {
    const before = readFileSync(made.caCert, 'utf8')
    const e = await refusal(makeDevCa({dir}))
    expect(e.message).toMatch(new RegExp(`already exists; use --force to replace the development CA in ${dir}$`))
    expect(e.exitCode).toBe(2)
    expect(readFileSync(made.caCert, 'utf8')).toBe(before)
    await makeDevCa({dir, force: true})
    expect(readFileSync(made.caCert, 'utf8')).not.toBe(before)
  })

  it.each(['', 'bad host', 'a..b', '-lead.example', 'x'.repeat(64) + '.example', 'a/b', 'host\nDNS:evil', 'sensor,IP:1.2.3.4', '1.2.3.4.5', '300'])(
    '--host %j is refused in one line before anything is written',
    async (host) => {
      const d = join(root, `bad-${Math.random().toString(36).slice(2)}`)
      const e = await refusal(makeDevCa({dir: d, hosts: [host]}))
      expect(e.message).toBe(`--host ${JSON.stringify(host)} is not allowed: expected a host name (sensors.example.lan) or an IP address`)
      expect(e.exitCode).toBe(2)
      expect(() => statSync(d)).toThrow()
    },
  )

  it('a directory it cannot create is named with the error code', async () => {
    const file = join(root, 'plain-file')
    writeFileSync(file, 'x')
    const e = await refusal(makeDevCa({dir: join(file, 'sub')}))
    expect(e.message).toBe(`cannot create ${join(file, 'sub')}: ENOTDIR`)
  })

  it('without openssl on PATH: says how to get it, and leaves no file and no temp directory', async () => {
    const d = join(root, 'no-openssl')
    const path = process.env.PATH
    process.env.PATH = join(root, 'empty-path')
    try {
      const e = await refusal(makeDevCa({dir: d}))
      expect(e.message).toMatch(/^cannot run openssl: .*\(Debian: apt-get install openssl\)$/)
    } finally {
      process.env.PATH = path
    }
    expect(readdirSync(d)).toEqual([])
  })
})
