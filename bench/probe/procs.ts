/**
 * Probe helpers: start our broker (broker-entry.ts, with gc over IPC) or Mosquitto (as `bench suite`
 * starts it: src/bench/brokers.ts) as a child process, optionally pinned with taskset, read its RSS
 * and CPU time from /proc, and stop it. Everything binds to 127.0.0.1.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {findMosquitto, pinned, startMosquitto as startSuiteMosquitto, stopper} from '../../src/bench/brokers.js'
import {freePort} from '../../src/net.js'
import {tsxImportUrl} from '../../src/control/runtime.js'

export {freePort}

export type Target = 'mqttctl' | 'mosquitto'

export interface BrokerProc {
  target: Target
  pid: number
  port: number
  /** Our broker's process (IPC: gc, stats); absent for Mosquitto. */
  child?: ChildProcess
  /** Runs gc() in our broker (no-op for Mosquitto); resolves with its process.memoryUsage() after. */
  gc(): Promise<NodeJS.MemoryUsage | undefined>
  stop(): Promise<void>
}

const ENTRY = fileURLToPath(new URL('./broker-entry.ts', import.meta.url))

export async function startBroker(target: Target, options: {cpu?: string; nodeArgs?: string[]} = {}): Promise<BrokerProc> {
  if (target === 'mosquitto') return startMosquitto(options.cpu)
  const [cmd, args] = pinned(options.cpu, process.execPath, ['--expose-gc', ...(options.nodeArgs ?? (process.env.PROBE_NODE_ARGS?.split(' ').filter(Boolean) ?? [])), '--import', tsxImportUrl(), ENTRY])
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
    stop: stopper(child, () => {}, 5000),
  }
}

async function startMosquitto(cpu: string | undefined): Promise<BrokerProc> {
  const bin = findMosquitto(false)
  if (!bin) throw new Error('mosquitto is not installed (apt-get install mosquitto)')
  const broker = await startSuiteMosquitto(bin, {port: await freePort(), cpu})
  return {target: 'mosquitto', pid: broker.pid, port: broker.port, gc: async () => undefined, stop: broker.stop}
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
