/**
 * `mqttctl build` flags -> a checked BuildPlan, before anything is bundled or written. Every bad value
 * is a BuildError (exit 2) naming the value and what is allowed.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {type BrokerConfig, ConfigError, configForTier, loadConfig, validateConfig} from '../config/index.js'
import {formatInt} from '../cli/render.js'
import {InputError, runtimeSettings, type Tier, tierForConnections} from '../sizing/index.js'
import {currentOs} from '../tune/target.js'
import {parseNodes, resolveNodesTarget} from '../tune/cluster.js'
import {type ClusterBuild, resolveClusterBuild} from './cluster.js'
import {DEFAULT_INSTALL_DIR, DEFAULT_USER, TUNE_OSES, type TuneOs} from '../tune/index.js'
import {type Optimize, OPTIMIZE_MODES} from './bundle.js'
import {BuildError} from './errors.js'
import {SEA_INSTEAD, seaSupport} from './sea.js'

export const ARCHES = ['x64', 'arm64'] as const
export type Arch = (typeof ARCHES)[number]

export interface Platform {
  os: TuneOs
  arch: string
  /** "linux-x64". */
  name: string
}

export interface BuildInput {
  devices?: string
  tier?: string
  config?: string
  optimize?: string
  out?: string
  target?: string
  singleExecutable?: boolean
  archive?: boolean
  installDir?: string
  user?: string
  force?: boolean
  /** Scale-out (src/build/cluster.ts): nodes, workers per node, NATS URLs, the NATS servers' store directory. */
  nodes?: string
  workers?: string
  nats?: string
  natsStore?: string
}

export interface BuildPlan {
  tier: Tier
  /** Devices per node the build is for; undefined when chosen by --tier or --config. */
  devices?: number
  nodes: number
  /** etc/broker.json, validated. */
  config: BrokerConfig
  /** Where it came from: "tier medium" or the --config path. */
  configSource: string
  optimize: Optimize
  target: Platform
  host: Platform
  /** A single executable will be produced (requested, same platform, supported). */
  singleExecutable: boolean
  /** Absolute output directory, and archive path (<out>.tar.gz) with --archive. */
  out: string
  archive?: string
  installDir: string
  user: string
  force: boolean
  /** Lines to show before building: why this tier, fallbacks. */
  notes: string[]
  /** Several nodes or --nats: per-node configurations and units, and the NATS servers' nats-server.conf. */
  cluster: ClusterBuild | null
}

export function hostPlatform(platform: string = process.platform, arch: string = process.arch): Platform | undefined {
  const os = currentOs(platform)
  return os ? {os, arch, name: `${os}-${arch}`} : undefined
}

export function parseTarget(text: string | undefined, host: Platform | undefined): Platform {
  const allowed = `allowed: ${TUNE_OSES.join(', ')}, optionally with -${ARCHES.join(' or -')} (e.g. linux-x64)`
  if (text === undefined) {
    if (!host) throw new BuildError(`this host (${process.platform}) is not a platform build writes for; give --target; ${allowed}`)
    return host
  }
  const m = /^(linux|macos|windows)(?:-(x64|arm64))?$/.exec(text)
  if (!m) throw new BuildError(`--target ${JSON.stringify(text)} is not allowed; ${allowed}`)
  const os = m[1] as TuneOs
  const arch = m[2] ?? (host?.os === os ? host.arch : 'x64')
  return {os, arch, name: `${os}-${arch}`}
}

function configFrom(input: BuildInput, tier: Tier | undefined, devices?: number): {config: BrokerConfig; tier: Tier; source: string; note?: string} {
  if (input.config === undefined) {
    // The plan's heap limit for the fleet (or the tier's largest fleet), as plan --write would set it.
    const config = configForTier(tier!)
    config.runtime = runtimeSettings(devices ?? tier!.maxDevices)
    return {config: validateConfig(config), tier: tier!, source: `tier ${tier!.name}`}
  }
  const file = resolve(input.config)
  let config: BrokerConfig
  try {
    config = loadConfig({file}).config
  } catch (error) {
    if (error instanceof ConfigError) throw new BuildError(`--config: ${error.message}`)
    throw error
  }
  const t = tierForConnections(config.maxConnections)
  return {config, tier: t, source: file, note: `--config ${input.config}: OS files for tier ${t.name} (MAX_CONNECTIONS ${formatInt(config.maxConnections)})`}
}

/** Top-level names of a layout `mqttctl build` writes (src/build/layout.ts). */
const LAYOUT_ENTRIES = new Set(['README.md', 'SHA256SUMS', 'manifest.json', 'bin', 'etc', 'scripts', 'systemd', 'monitoring', 'nodes', 'nats'])

/**
 * Why --force must not replace this existing --out, or undefined when it may: only an empty
 * directory or an earlier build's layout (manifest.json of mqtt-broker, nothing else beside it, so
 * not a data/ directory of a broker run in place) is replaced. Anything else (the working directory
 * for --out "", a parent, /tmp, a home) would be deleted with everything in it.
 */
export function notReplaceable(path: string): string | undefined {
  if (!statSync(path).isDirectory()) return 'it is not a directory'
  const entries = readdirSync(path)
  if (entries.length === 0) return undefined
  let manifest: {name?: unknown; manifestVersion?: unknown} | undefined
  try {
    manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'))
  } catch {
    manifest = undefined
  }
  if (manifest?.name !== 'mqtt-broker' || manifest.manifestVersion === undefined) return 'it is not a `mqttctl build` output (no manifest.json of mqtt-broker in it)'
  const emptyDir = (e: string) => statSync(join(path, e)).isDirectory() && readdirSync(join(path, e)).length === 0
  const foreign = entries.filter((e) => !LAYOUT_ENTRIES.has(e) && !emptyDir(e)).sort()
  if (foreign.length > 0) return `it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}, which mqttctl build did not write (e.g. the data directory of a broker run there)`
  return undefined
}

function checkOut(path: string, what: string, force: boolean): void {
  if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) throw new BuildError(`${what} ${path}: the directory ${dirname(path)} does not exist; create it or choose another --out`)
  if (!existsSync(path)) return
  if (!force) throw new BuildError(`${what} ${path} already exists; pass --force to replace it or choose another --out`)
  if (what === '--out') {
    const why = notReplaceable(path)
    if (why) throw new BuildError(`--out ${path} exists and --force will not replace it: ${why}; choose another --out or remove it yourself`)
  } else if (!statSync(path).isFile()) throw new BuildError(`${what} ${path} exists and is not a file; --force replaces only a file there; choose another --out`)
}

export function resolvePlan(input: BuildInput, host: Platform | undefined = hostPlatform()): BuildPlan {
  const given = [input.devices, input.tier, input.config].filter((v) => v !== undefined).length
  if (given > 1) throw new BuildError('--devices, --tier and --config are not allowed together; give one of them')
  const optimize = (input.optimize ?? 'fast') as Optimize
  if (!OPTIMIZE_MODES.includes(optimize)) throw new BuildError(`--optimize ${JSON.stringify(input.optimize)} is not allowed; allowed: ${OPTIMIZE_MODES.join(', ')}`)
  const target = parseTarget(input.target, host)

  const notes: string[] = []
  let tier: Tier | undefined
  let devices: number | undefined
  let nodes = 1
  try {
    if (input.config === undefined) {
      const t = resolveNodesTarget({devices: input.devices, tier: input.tier, nodes: input.nodes})
      ;({tier, devices, nodes} = t)
      notes.push(...t.notes)
    } else if (input.nodes !== undefined) nodes = parseNodes(input.nodes)
  } catch (error) {
    if (error instanceof InputError) throw new BuildError(error.message)
    throw error
  }
  const c = configFrom(input, tier, devices)
  if (c.note) notes.push(c.note)
  const cluster = resolveClusterBuild({workers: input.workers, nats: input.nats, natsStore: input.natsStore}, nodes, c.config)

  const installDir = (input.installDir ?? DEFAULT_INSTALL_DIR).replace(/\/+$/, '') || '/'
  if (!/^\/[^\s"'\\]*$/.test(installDir)) throw new BuildError(`--install-dir ${JSON.stringify(input.installDir)} is not allowed; allowed: an absolute path without spaces or quotes`)
  const user = input.user ?? DEFAULT_USER
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new BuildError(`--user ${JSON.stringify(user)} is not allowed; allowed: a Linux user name (lower case letters, digits, _ and -)`)

  if (input.out !== undefined && input.out.trim() === '') throw new BuildError('--out "" is not allowed; allowed: a directory path (default ./mqtt-broker)')
  const out = resolve(input.out ?? 'mqtt-broker')
  if (basename(out).startsWith('.')) throw new BuildError(`--out ${input.out}: choose a directory name that does not start with "."`)
  const force = Boolean(input.force)
  checkOut(out, '--out', force)
  const archive = input.archive ? `${out}.tar.gz` : undefined
  if (archive) checkOut(archive, 'the archive', force)

  let singleExecutable = false
  if (input.singleExecutable) {
    if (!host || host.name !== target.name) {
      notes.push(
        `cannot produce a single executable for ${target.name} on this ${host?.name ?? process.platform} host (it is made from this host's own Node.js binary): writing the JavaScript bundle bin/broker.mjs and a launcher instead; the server needs Node.js >= 20. For a single executable, run the same build on a ${target.name} machine.`,
      )
    } else {
      const support = seaSupport()
      if (!support.ok) throw new BuildError(`--single-executable: ${support.reason}; instead, ${SEA_INSTEAD}`, 1)
      singleExecutable = true
    }
  }

  return {tier: c.tier, devices, nodes, config: c.config, configSource: c.source, optimize, target, host: host ?? {os: target.os, arch: process.arch, name: process.platform}, singleExecutable, out, archive, installDir, user, force, notes, cluster}
}
