/**
 * What the built broker does when the operator gives no --config or --data-dir: it uses the layout
 * it was shipped in. Pure apart from reading the layout's etc/broker.json; bundled into the runtime
 * (src/build/entry.ts), so it may import only node: modules.
 *
 *   bin/mqtt-broker                 -> --config <root>/etc/broker.json
 *   dataDir in that file relative   -> --data-dir <root>/<dataDir>   (default <root>/data)
 *
 * A relative dataDir in the layout's own configuration is relative to the install directory, not to
 * the working directory, so `bin/mqtt-broker` works from anywhere. --data-dir or MQTTCTL_DATA_DIR
 * win, and a --config of the operator's own keeps the runtime's usual rule (relative to cwd).
 */
import {existsSync, readFileSync, realpathSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'

/** The layout's configuration file, relative to the install directory. */
export const LAYOUT_CONFIG = 'etc/broker.json'
/** The layout's data directory when its configuration names none (or './data'). */
export const LAYOUT_DATA_DIR = 'data'

/** The value of `--name VALUE` or `--name=VALUE`, the last one winning (as node:util parseArgs). */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') break
    if (a === `--${name}`) value = argv[i + 1]
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3)
  }
  return value
}

function same(a: string, b: string): boolean {
  if (a === b) return true
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}

function fileDataDir(file: string): string | undefined {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as {dataDir?: unknown}
    return typeof raw?.dataDir === 'string' && raw.dataDir !== '' ? raw.dataDir : undefined
  } catch {
    // The runtime reads the file again and reports what is wrong with it.
    return undefined
  }
}

/**
 * The layout's defaults for what the operator did not give: `config` (the layout's own file, when
 * no --config) and `dataDir` (absolute, when the configuration is the layout's own and neither
 * --data-dir nor MQTTCTL_DATA_DIR is set). Absent keys: nothing to add.
 */
export function layoutDefaults(root: string, given: {config?: string; dataDir?: string}, env: Record<string, string | undefined>, cwd = process.cwd()): {config?: string; dataDir?: string} {
  const own = join(root, LAYOUT_CONFIG)
  const defaults: {config?: string; dataDir?: string} = {}
  let config = given.config === undefined ? undefined : resolve(cwd, given.config)
  if (given.config === undefined && existsSync(own)) config = defaults.config = own
  const dataDirGiven = given.dataDir !== undefined || (env.MQTTCTL_DATA_DIR ?? '') !== ''
  if (!dataDirGiven && config !== undefined && same(config, own)) {
    const dataDir = fileDataDir(own) ?? LAYOUT_DATA_DIR
    if (!isAbsolute(dataDir)) defaults.dataDir = resolve(root, dataDir)
  }
  return defaults
}

/** argv with the layout's defaults put in front of the operator's own options. */
export function withLayoutDefaults(argv: readonly string[], env: Record<string, string | undefined>, root: string, cwd = process.cwd()): string[] {
  if (argv.includes('--help') || argv.includes('-h')) return [...argv]
  const d = layoutDefaults(root, {config: optionValue(argv, 'config'), dataDir: optionValue(argv, 'data-dir')}, env, cwd)
  return [...(d.config === undefined ? [] : ['--config', d.config]), ...(d.dataDir === undefined ? [] : ['--data-dir', d.dataDir]), ...argv]
}
