/**
 * Where the package lives on disk, and its version: the one place that finds mqttctl's
 * package.json. Sources run from src/ (tsx, tests), compiled code from dist/src/ and the bundled
 * runtime from a build's bin/ (which holds a package.json naming only the version), so a path
 * relative to import.meta.url differs; walking up to the package.json named mqttctl works from all.
 * node:* imports only: the broker runtime uses it.
 */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let cached: string | undefined

function readPackage(dir: string): {name?: string; version?: string} | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {name?: string; version?: string}
  } catch {
    return undefined
  }
}

/** The directory holding mqttctl's package.json, above `from` (a file URL or path; default: this module). */
export function packageRoot(from: string = import.meta.url): string {
  if (cached && from === import.meta.url) return cached
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from)
  while (readPackage(dir)?.name !== 'mqttctl') {
    const up = dirname(dir)
    if (up === dir) throw new Error(`cannot find mqttctl's package.json above ${from}`)
    dir = up
  }
  if (from === import.meta.url) cached = dir
  return dir
}

/**
 * mqttctl's version from the package.json in `root` (default: packageRoot()); else MQTTCTL_VERSION
 * (set by a single-executable build's entry), else "unknown".
 */
export function packageVersion(root?: string): string {
  let version: string | undefined
  try {
    version = readPackage(root ?? packageRoot())?.version
  } catch {
    // no package.json above this module (or no import.meta.url in a bundle)
  }
  return version ?? process.env.MQTTCTL_VERSION ?? 'unknown'
}
