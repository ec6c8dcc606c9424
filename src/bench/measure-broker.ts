/**
 * The broker that each measurement step (measure.ts) runs against: a fresh child process of our
 * runtime on 127.0.0.1 (plain, plus TLS and WebSocket listeners when a step needs them) in a temp
 * data directory, its RSS and CPU time read from /proc, stopped (SIGTERM, then SIGKILL) and removed
 * after the step.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BROKER_NODE_FLAGS, isMemoryFlag} from '../broker/node-flags.js'
import {freePort, waitForPort} from '../net.js'
import {ourBrokerEntry, stopper} from './brokers.js'
import {cpuMillis, rssBytes} from './proc.js'

/** What starting and reading the broker takes from a measurement's spec. */
export interface BrokerSpec {
  /** How long a step waits for V8 to settle after a storm, ms. */
  settleMs: number
  /** Node.js flags of the broker (default: the launchers' BROKER_NODE_FLAGS). */
  nodeFlags?: readonly string[]
  /** The broker's process entry (default: the one `start` runs, ownRuntime); its memory flags are replaced by nodeFlags. */
  entry?: {cmd: string; args: string[]}
  /** A broker configuration file (the plan's); the listener, data directory and limits are overridden. */
  configFile?: string
  signal?: AbortSignal
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })

export class MeasureError extends Error {}

export interface MeasuredBroker {
  pid: number
  port: number
  tlsPort?: number
  wsPort?: number
  rss(): number
  cpu(): number
  stop(): Promise<void>
}

let tlsFiles: {dir: string; cert: string; key: string} | undefined

/** A throwaway self-signed certificate for the TLS step (openssl), removed when the process exits. */
function selfSigned(): {cert: string; key: string} {
  if (tlsFiles) return tlsFiles
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-measure-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {encoding: 'utf8'})
  if (r.status !== 0) throw new MeasureError(`openssl could not make a test certificate: ${r.error?.message ?? r.stderr.trim().split('\n').at(-1)}`)
  tlsFiles = {dir, cert, key}
  process.once('exit', () => rmSync(dir, {recursive: true, force: true}))
  return tlsFiles
}

export async function startBroker(spec: BrokerSpec, maxConnections: number, withTls = false, withWs = false): Promise<MeasuredBroker> {
  const entry = spec.entry ?? ourBrokerEntry()
  if (!entry) throw new MeasureError('our broker runtime is missing (no dist/src/broker/main.js); run `npm run build`')
  const nodeArgs = entry.args.filter((a) => !isMemoryFlag(a))
  const flags = spec.nodeFlags ?? BROKER_NODE_FLAGS
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-measure-'))
  const port = await freePort()
  const args = [...flags, ...nodeArgs]
  if (spec.configFile) args.push('--config', spec.configFile)
  args.push('--host', '127.0.0.1', '--port', String(port), '--data-dir', dir, '--log-level', 'error', '--stats-interval', '5')
  // The plan's configuration keeps its own limit (verify drives at most the plan's live devices).
  if (!spec.configFile) args.push('--max-connections', String(maxConnections))
  let tlsPort: number | undefined
  if (withTls) {
    const t = selfSigned()
    tlsPort = await freePort()
    args.push('--tls-cert', t.cert, '--tls-key', t.key, '--tls-host', '127.0.0.1', '--tls-port', String(tlsPort))
  }
  let wsPort: number | undefined
  if (withWs) {
    wsPort = await freePort()
    args.push('--ws-port', String(wsPort))
  }
  const child = spawn(entry.cmd, args, {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
  const stop = stopper(child, () => rmSync(dir, {recursive: true, force: true}), 5000)
  try {
    await waitForPort(port, 30_000, child)
    if (tlsPort) await waitForPort(tlsPort, 10_000, child)
    if (wsPort) await waitForPort(wsPort, 10_000, child)
  } catch (error) {
    await stop()
    throw new MeasureError(`the broker did not start: ${(error as Error).message}${stderr ? `\n${stderr.trim()}` : ''}`)
  }
  const pid = child.pid!
  return {pid, port, tlsPort, wsPort, rss: () => rssBytes(pid) ?? 0, cpu: () => cpuMillis(pid) ?? 0, stop}
}

export async function withBroker<T>(spec: BrokerSpec, maxConnections: number, fn: (b: MeasuredBroker) => Promise<T>, withTls = false): Promise<T> {
  const b = await startBroker(spec, maxConnections, withTls)
  try {
    return await fn(b)
  } finally {
    await b.stop()
  }
}

/** RSS after a settle window: the least of a few readings (V8's memory reducer works in steps). */
export async function settled(b: MeasuredBroker, spec: BrokerSpec): Promise<number> {
  let least = Number.POSITIVE_INFINITY
  const step = 500
  for (let t = 0; t < spec.settleMs; t += step) {
    await sleep(step, spec.signal)
    least = Math.min(least, b.rss())
  }
  return Number.isFinite(least) ? least : b.rss()
}

export function checkAborted(spec: BrokerSpec): void {
  if (spec.signal?.aborted) throw new MeasureError('stopped: the time limit was reached')
}

