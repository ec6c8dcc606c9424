/**
 * Starts the brokers under test as child processes (Mosquitto from Debian and ours), optionally
 * pinned to a core with taskset, waits until they accept connections, and stops them by pid.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ownRuntime} from '../control/runtime.js'
import {waitForPort} from '../net.js'
import {packageVersion} from '../paths.js'

export interface RunningBroker {
  name: 'ours' | 'mosquitto'
  pid: number
  port: number
  version: string
  /** Our broker's data directory (a temporary one, removed by stop()). */
  dataDir?: string
  stop(): Promise<void>
}

export interface StartOptions {
  port: number
  /** taskset core list, e.g. "0"; omitted = not pinned. */
  cpu?: string
  /** More arguments for our broker (e.g. --cluster URL, --workers N). */
  args?: string[]
}

export function which(cmd: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = join(dir, cmd)
    if (dir && existsSync(p)) return p
  }
  return null
}

/** Mosquitto's binary, installing Debian's package first when it is missing and we are root. */
export function findMosquitto(install = true): string | null {
  const found = which('mosquitto')
  if (found || !install || process.getuid?.() !== 0 || !which('apt-get')) return found
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'mosquitto'], {stdio: 'inherit', env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}})
  return which('mosquitto')
}

export function mosquittoVersion(bin: string): string {
  const out = spawnSync(bin, ['-h'], {encoding: 'utf8'})
  return /mosquitto version (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'unknown'
}

export {freePort, waitForPort} from '../net.js'

/** cmd + args run pinned to the cores in `cpu` with taskset (when given and taskset is installed). */
export function pinned(cpu: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu !== undefined && which('taskset') ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]
}

/** stop(): SIGTERM, SIGKILL after `graceMs`, then `cleanup` once the child has exited. */
export function stopper(child: ChildProcess, cleanup: () => void, graceMs = 3000): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const t = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(t)
    }
    cleanup()
  }
}

async function launch(name: RunningBroker['name'], cmd: string, args: string[], o: StartOptions, version: string, cleanup: () => void): Promise<RunningBroker> {
  const [c, a] = pinned(o.cpu, cmd, args)
  const child = spawn(c, a, {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
  const stop = stopper(child, cleanup)
  try {
    await waitForPort(o.port, 20_000, child)
  } catch (e) {
    await stop()
    throw new Error(`${name} did not start: ${(e as Error).message}\n${stderr}`)
  }
  return {name, pid: child.pid!, port: o.port, version, stop}
}

/** Mosquitto on 127.0.0.1:port, persistence off, queues unlimited so QoS 0 is never dropped. */
export async function startMosquitto(bin: string, o: StartOptions): Promise<RunningBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bench-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${o.port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_queued_messages 0',
      'max_queued_bytes 0',
      'max_inflight_messages 0',
      'max_connections -1',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  )
  return launch('mosquitto', bin, ['-c', conf], o, mosquittoVersion(bin), () => rmSync(dir, {recursive: true, force: true}))
}

/**
 * Our broker's process entry, by the rule `start` uses (ownRuntime): the compiled entry next to the
 * running code, or from sources the TypeScript entry through tsx; null when it is missing.
 */
export function ourBrokerEntry(): {cmd: string; args: string[]} | null {
  try {
    const runtime = ownRuntime()
    return {cmd: runtime.command, args: runtime.args}
  } catch {
    return null
  }
}

export async function startOurs(o: StartOptions): Promise<RunningBroker> {
  const entry = ourBrokerEntry()
  if (!entry) throw new Error('our broker is not available (no compiled dist/src/broker/main.js; run `npm run build`)')
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bench-ours-'))
  // The suite opens up to 15,001 connections (broadcast scenario): above the default limit of 10,000.
  const args = [...entry.args, '--port', String(o.port), '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'warn', '--max-connections', '100000', ...(o.args ?? [])]
  const broker = await launch('ours', entry.cmd, args, o, `mqttctl ${packageVersion()}`, () => rmSync(dir, {recursive: true, force: true}))
  return {...broker, dataDir: dir}
}
