/**
 * Where the package lives on disk. Sources run from src/ (tsx, tests) and compiled code from
 * dist/src/, so a path relative to import.meta.url differs by one level; walking up to the
 * directory holding package.json works from both.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let cached: string | undefined

/** The directory holding mqttctl's package.json. */
export function packageRoot(from: string = import.meta.url): string {
  if (cached && from === import.meta.url) return cached
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from)
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && isOurs(pkg)) break
    const up = dirname(dir)
    if (up === dir) throw new Error(`cannot find mqttctl's package.json above ${from}`)
    dir = up
  }
  if (from === import.meta.url) cached = dir
  return dir
}

function isOurs(pkg: string): boolean {
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as {name?: string}).name === 'mqttctl'
  } catch {
    return false
  }
}

/** <package root>/templates: the OS script and unit templates tune and build render. */
export function templatesDir(): string {
  return join(packageRoot(), 'templates')
}
