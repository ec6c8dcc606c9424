/**
 * Probe helpers: start our broker or Mosquitto as a child process (optionally pinned with taskset),
 * read its RSS and CPU time from /proc, and stop it. Everything binds to 127.0.0.1.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export type Target = 'mqttctl' | 'mosquitto'

export interface BrokerProc {
  target: Target
  pid: number
  port: number
  child: ChildProcess
  /** Runs gc() in our broker (no-op for Mosquitto); resolves with its process.memoryUsage() after. */
  gc(): Promise<NodeJS.MemoryUsage | undefined>
  stop(): Promise<void>
}

const ENTRY = fileURLToPath(new URL('./broker-entry.ts', import.meta.url))

export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const {port} = s.address() as net.AddressInfo
  await new Promise((r) => s.close(r))
  return port
}

function pinned(cpu: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', cpu, cmd, ...args]]
}

export async function startBroker(target: Target, options: {cpu?: string; nodeArgs?: string[]} = {}): Promise<BrokerProc> {
  if (target === 'mosquitto') return startMosquitto(options.cpu)
  const [cmd, args] = pinned(options.cpu, process.execPath, ['--expose-gc', ...(options.nodeArgs ?? (process.env.PROBE_NODE_ARGS?.split(' ').filter(Boolean) ?? [])), '--import', 'tsx', ENTRY])
  const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'inherit', 'ipc']})
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /\{"port":(\d+)\}/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`broker exited ${code}`)))
  })
  // With taskset the child is taskset's exec'd image: same pid.
  return {
    target,
    pid: child.pid!,
    port,
    child,
    gc: () =>
      new Promise((resolve) => {
        child.once('message', (m: {memory?: NodeJS.MemoryUsage; spaces?: object}) => {
          if (process.env.PROBE_SPACES) console.log('  heap spaces (KB):', JSON.stringify(m.spaces))
          resolve(m.memory)
        })
        child.send('gc')
      }),
    stop: () => stopChild(child),
  }
}

async function startMosquitto(cpu: string | undefined): Promise<BrokerProc> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'probe-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'max_queued_messages 100000', 'log_type error', ''].join('\n'))
  const [cmd, args] = pinned(cpu, 'mosquitto', ['-c', conf])
  const child = spawn(cmd, args, {stdio: ['ignore', 'ignore', 'inherit']})
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)))
      s.on('error', () => r(false))
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {target: 'mosquitto', pid: child.pid!, port, child, gc: async () => undefined, stop: () => stopChild(child)}
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => (clearTimeout(t), resolve()))
    child.kill('SIGTERM')
  })
}

/** Resident set size in bytes (VmRSS). */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** utime + stime in clock ticks (100 Hz on Linux). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
