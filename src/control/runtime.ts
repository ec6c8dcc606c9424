/**
 * Which broker runtime `mqttctl start` runs:
 *
 *   --runtime DIR        a `mqttctl build` output directory: DIR/bin/mqtt-broker (launcher), else DIR/bin/broker.js
 *   --runtime FILE       that launcher or executable; a .js/.mjs/.cjs file is run with this Node.js
 *   (default)            the package's own entry: dist/src/broker/main.js next to the running code,
 *                        or, when running from TypeScript sources (bin/dev.js, tests), src/broker/main.ts via tsx
 */
import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {BROKER_NODE_FLAGS, brokerNodeFlags, isMemoryFlag, type NodeMemorySettings} from '../broker/node-flags.js'
import {LAYOUT_CONFIG} from '../build/defaults.js'
import {ControlError, EXIT} from '../broker/process/errors.js'

export interface Runtime {
  /** Executable to spawn. */
  command: string
  /** Arguments before the broker's own options. */
  args: string[]
  /** For messages: what runs. */
  description: string
  /** A `mqttctl build` layout's install directory (holds bin/ and etc/), when the runtime is one. */
  layoutRoot?: string
}

const NODE_SCRIPT = /\.(c|m)?js$/

function nodeScript(file: string): Runtime {
  return {command: process.execPath, args: [...BROKER_NODE_FLAGS, file], description: file}
}

function fromFile(file: string, given: string): Runtime {
  if (NODE_SCRIPT.test(file)) return nodeScript(file)
  try {
    accessSync(file, constants.X_OK)
  } catch {
    throw new ControlError(`--runtime ${given}: ${file} is not executable; give the directory \`mqttctl build\` wrote, its bin/mqtt-broker, or a .js entry`, EXIT.usage)
  }
  return {command: file, args: [], description: file}
}

/** Marks a runtime inside a build layout (its root has etc/broker.json), so start reads the same defaults it will. */
function withLayout(rt: Runtime, root: string): Runtime {
  return existsSync(join(root, LAYOUT_CONFIG)) ? {...rt, layoutRoot: root} : rt
}

/** The runtime for `--runtime PATH` (relative to cwd), or the package's own entry. */
export function resolveRuntime(runtime?: string, cwd = process.cwd()): Runtime {
  if (runtime === undefined) return ownRuntime()
  const path = resolve(cwd, runtime)
  let stat
  try {
    stat = statSync(path)
  } catch {
    throw new ControlError(`--runtime ${runtime}: no such file or directory; give the directory \`mqttctl build\` wrote or its bin/mqtt-broker`, EXIT.usage)
  }
  if (!stat.isDirectory()) return withLayout(fromFile(path, runtime), dirname(dirname(path)))
  for (const candidate of ['bin/mqtt-broker', 'bin/broker.js']) {
    const file = join(path, candidate)
    if (existsSync(file)) return withLayout(fromFile(file, runtime), path)
  }
  throw new ControlError(`--runtime ${runtime}: no bin/mqtt-broker or bin/broker.js in that directory; give the directory \`mqttctl build\` wrote`, EXIT.usage)
}

/**
 * The runtime with the configuration's memory flags (runtime.maxOldSpaceMb / maxSemiSpaceMb) in place
 * of the defaults, when this Node.js runs it; a launcher or single executable (a build layout) keeps
 * the flags it was built with (its etc/broker.json's, also in the systemd unit's NODE_OPTIONS).
 */
export function withMemoryFlags(rt: Runtime, settings: NodeMemorySettings | undefined): Runtime {
  if (rt.command !== process.execPath || settings === undefined) return rt
  const rest = rt.args.filter((a) => !isMemoryFlag(a))
  return {...rt, args: [...brokerNodeFlags(settings), ...rest]}
}

/** tsx's loader as an absolute URL, so `node --import` resolves it from this package whatever the working directory is. */
export function tsxImportUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
}

/** This package's broker entry, compiled or from sources. */
export function ownRuntime(): Runtime {
  const here = fileURLToPath(import.meta.url)
  const brokerDir = join(dirname(here), '..', 'broker')
  if (here.endsWith('.ts')) {
    const main = join(brokerDir, 'main.ts')
    return {command: process.execPath, args: [...BROKER_NODE_FLAGS, '--import', tsxImportUrl(), main], description: main}
  }
  const main = join(brokerDir, 'main.js')
  if (!existsSync(main)) throw new ControlError(`the broker runtime ${main} is missing; run \`npm run build\` or give --runtime`)
  return nodeScript(main)
}
