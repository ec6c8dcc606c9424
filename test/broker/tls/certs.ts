/**
 * Throwaway certificates for the TLS tests, generated with openssl in a temp dir per test run
 * (no private key is checked in): a test CA, a server certificate for 127.0.0.1 / localhost signed
 * by it, a client certificate signed by it, and a client certificate from an unrelated CA.
 * A missing openssl fails the tests with a clear message (CI: apt-get install -y openssl), never a skip.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'

export interface TestCerts {
  dir: string
  /** CA that signed server and client certificates (clients trust it; mutual TLS accepts its clients). */
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** A client certificate from another CA: refused by mutual TLS. */
  strangerCert: string
  strangerKey: string
  cleanup(): void
}

export async function requireOpenssl(): Promise<void> {
  const found = await execa('sh', ['-c', 'command -v openssl'], {reject: false})
  if (found.exitCode !== 0) {
    throw new Error('openssl is not installed: the TLS tests generate their throwaway certificates with it (apt-get install -y openssl); it is required, not optional')
  }
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const r = await execa('openssl', args, {cwd: dir, reject: false, timeout: 30_000})
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=mqttctl test ${name}`])
}

async function makeLeaf(dir: string, name: string, ca: string, cn: string, extensions: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions)
  await openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`])
}

export async function makeCerts(): Promise<TestCerts> {
  await requireOpenssl()
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-tls-'))
  try {
    await makeCa(dir, 'ca')
    await makeCa(dir, 'other-ca')
    await makeLeaf(dir, 'server', 'ca', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
    await makeLeaf(dir, 'client', 'ca', 'client-1', 'extendedKeyUsage=clientAuth\n')
    await makeLeaf(dir, 'stranger', 'other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n')
  } catch (error) {
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
  const f = (name: string) => join(dir, name)
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    strangerCert: f('stranger.pem'),
    strangerKey: f('stranger.key'),
    cleanup: () => rmSync(dir, {recursive: true, force: true}),
  }
}
