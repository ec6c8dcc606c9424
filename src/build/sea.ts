/**
 * A Node.js single executable application (SEA) from this host's own Node binary: the CommonJS
 * bundle -> `node --experimental-sea-config` -> a preparation blob -> a copy of process.execPath
 * with the blob injected by postject. No download: the server then needs no Node.js at all.
 */
import {copyFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire, isBuiltin} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {BuildError} from './errors.js'

/** The fuse Node's SEA support looks for (postject flips its last character). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

export interface SeaSupport {
  ok: boolean
  /** Why not, in one sentence. */
  reason?: string
}

const INSTEAD = 'build without --single-executable (bin/mqtt-broker then runs bin/broker.mjs with the server\'s Node.js >= 20), or build on a Linux host whose Node.js >= 20.12 is an official build'

/** What to do when seaSupport() says no. */
export const SEA_INSTEAD = INSTEAD

function postjectCli(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('postject/dist/cli.js')
  } catch {
    return undefined
  }
}

function hasFuse(execPath: string): boolean | undefined {
  try {
    return readFileSync(execPath).includes(`${SEA_FUSE}:0`)
  } catch {
    return undefined
  }
}

/** Whether this host's Node can produce a single executable for itself, and if not why. */
export function seaSupport(host: {platform: string; version: string; execPath: string; config: {variables: object}} = process): SeaSupport {
  const [major, minor] = host.version.slice(1).split('.').map(Number)
  if (host.platform !== 'linux') return {ok: false, reason: `mqttctl builds single executables on Linux hosts only (this host is ${host.platform}; macOS and Windows need code-signing steps it does not do)`}
  if (major < 20 || (major === 20 && minor < 12) || !isBuiltin('node:sea')) return {ok: false, reason: `Node.js ${host.version} has no usable single executable application support (needs >= 20.12)`}
  const vars = host.config.variables as Record<string, unknown>
  if (vars.single_executable_application === false) return {ok: false, reason: `this Node.js ${host.version} was built without single executable application support`}
  if (vars.node_shared === true) return {ok: false, reason: `this Node.js ${host.version} is a shared-library build (libnode), which cannot become a single executable`}
  const fuse = hasFuse(host.execPath)
  if (fuse === undefined) return {ok: false, reason: `cannot read this Node.js binary ${host.execPath}`}
  if (!fuse) return {ok: false, reason: `this Node.js binary ${host.execPath} has no unused SEA fuse (it is already a single executable, or was built without one)`}
  if (!postjectCli()) return {ok: false, reason: 'the postject package (which injects the script into the Node binary) is not installed next to mqttctl (npm install postject in its directory)'}
  return {ok: true}
}

/** The executable's bytes: a copy of this Node binary with `script` (a CommonJS bundle) injected. */
export async function buildSea(script: Buffer): Promise<Buffer> {
  const support = seaSupport()
  if (!support.ok) throw new BuildError(`cannot produce a single executable: ${support.reason}; instead, ${INSTEAD}`, 1)
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-sea-'))
  try {
    writeFileSync(join(dir, 'broker.cjs'), script)
    const config = {main: 'broker.cjs', output: 'sea-prep.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false}
    writeFileSync(join(dir, 'sea-config.json'), JSON.stringify(config))
    await run(process.execPath, ['--experimental-sea-config', 'sea-config.json'], dir, 'node --experimental-sea-config')
    const exe = join(dir, 'mqtt-broker')
    copyFileSync(process.execPath, exe)
    chmodSync(exe, 0o755)
    // postject runs LIEF (WebAssembly) and prints its warnings; keep them out of our output.
    await run(process.execPath, [postjectCli()!, exe, 'NODE_SEA_BLOB', 'sea-prep.blob', '--sentinel-fuse', SEA_FUSE], dir, 'postject')
    // It must start on its own, with no node on PATH.
    const check = await execa(exe, ['--help'], {cwd: dir, env: {PATH: dir}, extendEnv: false, reject: false, timeout: 30_000})
    if (check.exitCode !== 0 || !check.stdout.includes('Usage: mqtt-broker')) {
      throw new BuildError(`the single executable did not start (exit ${check.exitCode}): ${(check.stderr || check.stdout).split('\n')[0]}; instead, ${INSTEAD}`, 1)
    }
    return readFileSync(exe)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function run(file: string, args: string[], cwd: string, what: string): Promise<void> {
  const r = await execa(file, args, {cwd, reject: false, all: true, timeout: 300_000})
  if (r.exitCode !== 0) {
    const last = (r.all ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('warning:')).pop() ?? `exit ${r.exitCode}`
    throw new BuildError(`${what} failed: ${last}; instead, ${INSTEAD}`, 1)
  }
}
