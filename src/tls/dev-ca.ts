/**
 * `mqttctl tls dev-ca`: a development CA and a server certificate signed by it, for trying TLS and
 * wss:// locally. Made with the openssl command-line tool (node:crypto cannot issue certificates).
 * Every name says it is not for production; the certificates last DAYS days. Files are made in a
 * temporary directory and moved into place only when all of them exist, so a failure leaves nothing
 * half-written; existing files are never replaced without --force.
 */
import {chmodSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {join, resolve} from 'node:path'
import {execa} from 'execa'
import {MqttctlError} from '../errors.js'
import {makeDirs} from '../fs.js'

export const DAYS = 90
export const FILES = {caCert: 'ca.pem', caKey: 'ca.key', cert: 'server.pem', key: 'server.key', readme: 'NOT-FOR-PRODUCTION.txt'} as const
const LABEL = 'NOT FOR PRODUCTION'

export interface DevCaOptions {
  /** Output directory (created). */
  dir: string
  /** Extra host names or addresses for the server certificate (localhost, 127.0.0.1 and ::1 are always in). */
  hosts?: string[]
  force?: boolean
}

export interface DevCaResult {
  dir: string
  caCert: string
  caKey: string
  cert: string
  key: string
  /** Subject alternative names of the server certificate. */
  names: string[]
  days: number
}

export class DevCaError extends MqttctlError {}

const HOSTNAME = /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function altNames(hosts: string[]): string[] {
  const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']
  for (const h of hosts) {
    // A name whose last label is all digits (1.2.3.4.5, a mistyped address) is no host name (RFC 3696 §2).
    const entry = isIP(h) ? `IP:${h}` : HOSTNAME.test(h) && !/(^|\.)\d+$/.test(h) ? `DNS:${h}` : undefined
    if (entry === undefined) throw new DevCaError(`--host ${JSON.stringify(h)} is not allowed: expected a host name (sensors.example.lan) or an IP address`, 2)
    if (!names.includes(entry)) names.push(entry)
  }
  return names
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  let r
  try {
    r = await execa('openssl', args, {cwd, reject: false, timeout: 60_000})
  } catch (error) {
    throw new DevCaError(`cannot run openssl: ${(error as Error).message.split('\n')[0]} (Debian: apt-get install openssl)`)
  }
  // execa with reject: false reports a command that could not start (not installed) as a result, not a throw.
  if (r.exitCode === undefined && r.signal === undefined && r.failed) throw new DevCaError(`cannot run openssl: ${(r as {originalMessage?: string}).originalMessage ?? (r.shortMessage ?? '').split('\n')[0]} (Debian: apt-get install openssl)`)
  if (r.exitCode !== 0) throw new DevCaError(`openssl ${args[0]} failed: ${(r.stderr || r.stdout || (r as {originalMessage?: string}).originalMessage || '').split('\n').find((l) => l.trim() !== '') ?? `exit ${r.exitCode}`}`)
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export async function makeDevCa(options: DevCaOptions): Promise<DevCaResult> {
  const dir = resolve(options.dir)
  const names = altNames(options.hosts ?? [])
  try {
    makeDirs(dir, 0o700)
  } catch (error) {
    throw new DevCaError(`cannot create ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const targets = Object.values(FILES).map((f) => join(dir, f))
  const existing = targets.filter((t) => statSync(t, {throwIfNoEntry: false}) !== undefined)
  if (existing.length > 0 && !options.force) throw new DevCaError(`${existing[0]} already exists; use --force to replace the development CA in ${dir}`, 2)
  let tmp: string
  try {
    tmp = mkdtempSync(join(dir, '.dev-ca-'))
  } catch (error) {
    throw new DevCaError(`cannot write in ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  try {
    const days = String(DAYS)
    await openssl(tmp, ['req', '-x509', ...EC, '-keyout', FILES.caKey, '-out', FILES.caCert, '-days', days, '-subj', `/O=mqttctl development (${LABEL})/CN=mqttctl development CA - ${LABEL}`, '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    writeFileSync(join(tmp, 'server.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.join(',')}\n`)
    await openssl(tmp, ['req', ...EC, '-keyout', FILES.key, '-out', 'server.csr', '-subj', `/O=mqttctl development (${LABEL})/CN=localhost (${LABEL})`])
    await openssl(tmp, ['x509', '-req', '-in', 'server.csr', '-CA', FILES.caCert, '-CAkey', FILES.caKey, '-CAcreateserial', '-out', FILES.cert, '-days', days, '-extfile', 'server.ext'])
    writeFileSync(
      join(tmp, FILES.readme),
      [
        `A development CA made by mqttctl tls dev-ca: ${LABEL}.`,
        `Anyone with ${FILES.caKey} can make certificates your test clients trust. Keep it on this machine,`,
        'never install ca.pem in a system or browser trust store you use for anything else, and use',
        'certificates from your organisation\'s CA (or a public one) for real deployments.',
        `The certificates expire after ${DAYS} days. Server certificate names: ${names.join(', ')}`,
        '',
      ].join('\n'),
    )
    chmodSync(join(tmp, FILES.caKey), 0o600)
    chmodSync(join(tmp, FILES.key), 0o600)
    for (const f of Object.values(FILES)) renameSync(join(tmp, f), join(dir, f))
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
  return {dir, caCert: join(dir, FILES.caCert), caKey: join(dir, FILES.caKey), cert: join(dir, FILES.cert), key: join(dir, FILES.key), names, days: DAYS}
}
