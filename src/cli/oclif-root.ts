/**
 * oclif's root for the compiled CLI (bin/run.js): the compiled tree itself (dist/), not the package.
 * The build writes oclif.manifest.json there (`npm run build`, the tests' DistBuilder: scripts/oclif-manifest.js),
 * beside the very commands it describes, so it cannot go stale against them; with it oclif loads only
 * the command that runs instead of every command to list them (measured, `mqttctl status --json` with
 * nothing running: 0.72 -> 0.45 s wall, 1.06 -> 0.58 s of CPU). A tree without the manifest (tsc
 * alone) still works: oclif reads the commands as before. bin/dev.js (the sources through tsx) keeps
 * the package as its root and never reads a manifest.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {type Interfaces, Plugin} from '@oclif/core'
import {packageRoot} from '../paths.js'

export const MANIFEST = 'oclif.manifest.json'

/** The compiled tree this module belongs to (dist/ holds src/cli/oclif-root.js). */
export function compiledRoot(): string {
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))))
}

/** Config options for oclif: the compiled tree as root, the package's package.json with its commands relative to that root. */
export function oclifLoadOptions(root = compiledRoot()): {root: string; pjson: Interfaces.PJSON} {
  const pjson = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as Interfaces.PJSON
  pjson.oclif = {...pjson.oclif, commands: './commands'}
  return {root, pjson}
}

/** Reads every command of the compiled tree at `root` and writes its manifest there; the number of commands. */
export async function writeManifest(root: string): Promise<number> {
  const plugin = new Plugin({...oclifLoadOptions(root), isRoot: true, ignoreManifest: true, errorOnManifestCreate: true})
  await plugin.load()
  // oclif lists the commands in the order its file search found them, which varies: sorted, the same tree gives the same bytes.
  const commands = Object.fromEntries(Object.entries(plugin.manifest.commands).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  writeFileSync(join(root, MANIFEST), `${JSON.stringify({...plugin.manifest, commands})}\n`)
  return Object.keys(commands).length
}
