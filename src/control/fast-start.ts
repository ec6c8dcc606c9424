/**
 * `mqttctl start` in the foreground without loading oclif (bin/run.js calls fastStart first): the
 * parent that waits beside the broker then holds only Node.js, the configuration code and
 * node:child_process (measured: 6 MB of its own memory instead of oclif's 42 MB; see
 * docs/sizing.md). It runs the same library calls as commands/start.ts, in the same order, and
 * returns undefined, so that oclif runs the command instead, for anything else: --detach,
 * --print-config, --json, --help, short flags, a flag given twice, an unknown flag, a value that
 * looks like a flag. So every refusal and its wording stay oclif's.
 */
import {spawn} from 'node:child_process'
import {resolve} from 'node:path'
import {MqttctlError} from '../errors.js'
import {ControlError} from '../broker/process/errors.js'
import {applyLayoutDefaults, BROKER_OPTIONS, loadBrokerConfig, PARENT_PIPE_ENV, parseBrokerOptions, type RawOptions, toRuntimeArgs} from './options.js'
import {resolveRuntime, type Runtime, withMemoryFlags} from './runtime.js'
import {checkNotRunning, signalExitCode} from './spawn.js'
import {brokerFiles} from '../broker/process/state.js'

/** Long flags the fast path takes: kind by name (the same set commands/start.ts has, less its modes). */
const FLAGS = new Map<string, 'string' | 'bool'>([
  ['config', 'string'],
  ['data-dir', 'string'],
  ['runtime', 'string'],
  ...BROKER_OPTIONS.filter((o) => o.flag !== 'data-dir').map((o) => [o.flag, o.kind === 'bool' ? 'bool' : 'string'] as [string, 'string' | 'bool']),
])

/** start's argv (after "start") as oclif would parse it, or undefined when the fast path must leave it to oclif. */
export function parseStartArgv(argv: readonly string[]): (RawOptions & {runtime?: string}) | undefined {
  const out: Record<string, string | boolean> = {}
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (!token.startsWith('--') || token === '--') return undefined
    const eq = token.indexOf('=')
    const name = token.slice(2, eq === -1 ? undefined : eq)
    const kind = FLAGS.get(name)
    if (kind === undefined || name in out) return undefined
    if (kind === 'bool') {
      if (eq !== -1) return undefined
      out[name] = true
      continue
    }
    const value = eq === -1 ? argv[++i] : token.slice(eq + 1)
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    out[name] = value
  }
  return out as RawOptions & {runtime?: string}
}

/**
 * runForeground (src/control/spawn.ts) with node:child_process instead of execa: stdin is a pipe the
 * broker watches (it stops if we die), output is inherited, the child has its own process group,
 * SIGINT/SIGTERM/SIGHUP are forwarded as they come (SIGHUP: the broker reloads its files and keeps
 * running, as runForeground does); resolves with its exit code, 128 + n when killed by signal n.
 */
export function runForegroundLight(runtime: Runtime, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(runtime.command, [...runtime.args, ...args], {stdio: ['pipe', 'inherit', 'inherit'], detached: true, env: {...process.env, [PARENT_PIPE_ENV]: '1'}})
    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal)
    }
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const)
    for (const [s, h] of handlers) process.on(s, h)
    const done = () => {
      for (const [s, h] of handlers) process.off(s, h)
    }
    child.once('error', (error) => {
      done()
      reject(new ControlError(`cannot run the broker runtime ${runtime.description}: ${error.message}`))
    })
    child.once('exit', (code, signal) => {
      done()
      resolvePromise(typeof code === 'number' ? code : signalExitCode(signal))
    })
  })
}

/** Runs `start ARGV` in the foreground; the exit code, or undefined: let oclif run it. */
export async function fastStart(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const flags = parseStartArgv(argv)
  if (!flags) return undefined
  let runtime: Runtime
  let args: string[]
  try {
    let settings = parseBrokerOptions(flags)
    if (settings.config) settings.config = resolve(settings.config)
    runtime = resolveRuntime(flags.runtime)
    if (runtime.layoutRoot) settings = applyLayoutDefaults(settings, runtime.layoutRoot, env)
    const loaded = loadBrokerConfig(settings, env)
    const files = brokerFiles(loaded.config.dataDir)
    const {stalePid} = checkNotRunning(files)
    if (stalePid !== undefined) process.stderr.write(`Warning: removed a stale pid file in ${files.dataDir} (pid ${stalePid} is not running)\n`)
    args = toRuntimeArgs(settings)
    runtime = withMemoryFlags(runtime, loaded.config.runtime)
  } catch (error) {
    // BaseCommand's one line and exit code; anything else: oclif runs the command and reports it its way.
    if (error instanceof MqttctlError) {
      process.stderr.write(`Error: ${error.message}\n`)
      return error.exitCode
    }
    return undefined
  }
  try {
    return await runForegroundLight(runtime, args)
  } catch (error) {
    process.stderr.write(`Error: ${(error as Error).message}\n`)
    return error instanceof MqttctlError ? error.exitCode : 1
  }
}
