/**
 * Starts Debian's nats-server for the cluster tests: one server, or a cluster of N with routes and
 * JetStream, on 127.0.0.1 with ephemeral ports and a temporary store directory. Stopped by pid
 * (stop() = SIGTERM then SIGKILL, kill() = SIGKILL at once); the directory is removed by stop().
 * A missing nats-server is a test failure naming the package, never a skip.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'

export interface NatsServer {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly pid: number
  readonly dir: string
  /** SIGTERM, then SIGKILL after 3 s; removes the store directory unless keepDir. */
  stop(keepDir?: boolean): Promise<void>
  /** SIGKILL now (the store directory stays, for a restart). */
  kill(): Promise<void>
  readonly exited: boolean
  /** Starts the same server again (same name, port, store directory) after stop(true) or kill(). */
  restart(): Promise<NatsServer>
}

export async function requireNatsServer(): Promise<string> {
  const found = await execa('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server'], {reject: false})
  const path = found.stdout.trim().split('\n')[0]
  if (found.exitCode !== 0 || path === '') {
    throw new Error('nats-server is not installed: the cluster tests need Debian\'s nats-server package (apt-get install nats-server); they are required, not optional')
  }
  return path
}

/** A free TCP port on 127.0.0.1 (closed again at once; nats-server binds it next): the one in src/net.ts. */
export {freePort} from '../../src/net.js'
import {freePort} from '../../src/net.js'

interface ServerSpec {
  name: string
  port: number
  jetstream: boolean
  dir: string
  cluster?: {name: string; port: number; routes: number[]}
}

async function spawnServer(bin: string, spec: ServerSpec, timeoutMs = 10_000): Promise<NatsServer> {
  const args = ['-a', '127.0.0.1', '-p', String(spec.port), '-n', spec.name]
  if (spec.jetstream) args.push('-js', '-sd', spec.dir)
  if (spec.cluster) {
    args.push('--cluster_name', spec.cluster.name, '--cluster', `nats://127.0.0.1:${spec.cluster.port}`)
    args.push('--routes', spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','))
  }
  const child: ChildProcess = spawn(bin, args, {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server ${spec.name} not ready in ${timeoutMs} ms: ${log.slice(-2000)}`)), timeoutMs)
    child.stderr!.on('data', (chunk: Buffer) => {
      if (log.length < 100_000) log += chunk.toString()
      if (log.includes('Server is ready')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`nats-server ${spec.name} exited with ${code}: ${log.slice(-2000)}`))
    })
  })
  child.stderr!.resume()
  const pid = child.pid!
  return {
    name: spec.name,
    port: spec.port,
    url: `nats://127.0.0.1:${spec.port}`,
    pid,
    dir: spec.dir,
    get exited() {
      return exited
    },
    async stop(keepDir = false) {
      if (!exited) {
        process.kill(pid, 'SIGTERM')
        const timer = setTimeout(() => {
          if (!exited) process.kill(pid, 'SIGKILL')
        }, 3000)
        await exit
        clearTimeout(timer)
      }
      if (!keepDir) rmSync(spec.dir, {recursive: true, force: true})
    },
    async kill() {
      if (!exited) process.kill(pid, 'SIGKILL')
      await exit
    },
    restart() {
      return spawnServer(bin, spec, timeoutMs)
    },
  }
}

/** One server (JetStream on by default). */
export async function startNats(options: {jetstream?: boolean} = {}): Promise<NatsServer> {
  const bin = await requireNatsServer()
  const dir = mkdtempSync(join(tmpdir(), 'nats-'))
  return spawnServer(bin, {name: 'n1', port: await freePort(), jetstream: options.jetstream ?? true, dir})
}

/** N servers routed to each other (JetStream clustered when jetstream, the default). */
export async function startNatsCluster(n = 3, options: {jetstream?: boolean} = {}): Promise<NatsServer[]> {
  const bin = await requireNatsServer()
  const ports: number[] = []
  const routes: number[] = []
  for (let i = 0; i < n; i++) {
    ports.push(await freePort())
    routes.push(await freePort())
  }
  const started: NatsServer[] = []
  try {
    await Promise.all(
      ports.map(async (port, i) => {
        const dir = mkdtempSync(join(tmpdir(), `nats-${i + 1}-`))
        started.push(
          await spawnServer(bin, {
            name: `n${i + 1}`,
            port,
            jetstream: options.jetstream ?? true,
            dir,
            cluster: {name: 'c1', port: routes[i], routes: routes.filter((_, j) => j !== i)},
          }),
        )
      }),
    )
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()))
    throw error
  }
  return started.sort((a, b) => a.name.localeCompare(b.name))
}
