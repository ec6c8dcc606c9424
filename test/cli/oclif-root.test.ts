/**
 * oclif rooted at the compiled tree (src/cli/oclif-root.ts): the build writes the command manifest
 * there, listing every command the sources have, and the shipped entry reads it (so oclif loads only
 * the command that runs); the same tree without a manifest still serves every command.
 */
import {execFile} from 'node:child_process'
import {cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative, sep} from 'node:path'
import {promisify} from 'node:util'
import {Config} from '@oclif/core'
import {beforeAll, describe, expect, it} from 'vitest'
import {MANIFEST, oclifLoadOptions, writeManifest} from '../../src/cli/oclif-root.js'
import {ensureDist, ROOT, RUN_BIN} from '../helpers/cli.js'

beforeAll(ensureDist, 300_000)
const run = promisify(execFile)
const DIST = join(ROOT, 'dist')

/** Command ids from the command sources: commands/bench/pub.ts -> "bench:pub", commands/bench/index.ts -> "bench". */
function sourceIds(dir = join(ROOT, 'commands')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceIds(path)
    if (!name.endsWith('.ts')) return []
    const id = relative(join(ROOT, 'commands'), path).replace(/\.ts$/, '').split(sep).join(':')
    return [id.replace(/:index$/, '')]
  })
}

describe('the command manifest in dist/', () => {
  it('lists every command the sources have, at the package version', () => {
    const manifest = JSON.parse(readFileSync(join(DIST, MANIFEST), 'utf8')) as {version: string; commands: Record<string, {flags: object; isESM: boolean}>}
    expect(Object.keys(manifest.commands).sort()).toEqual(sourceIds().sort())
    // oclif imports them as ES modules (a build under node_modules/ needs a package.json saying so).
    expect(Object.values(manifest.commands).every((c) => c.isESM)).toBe(true)
    expect(manifest.version).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version)
    expect(Object.keys(manifest.commands.plan.flags)).toContain('devices')
  })

  it('oclif, loaded as bin/run.js loads it, reads it from dist/ and finds each command there', async () => {
    const config = await Config.load(oclifLoadOptions(DIST))
    const root = config.getPluginsList().find((p) => p.isRoot)!
    expect(root.hasManifest).toBe(true)
    expect(config.root).toBe(DIST)
    expect(config.findCommand('bench:pub')?.flags).toHaveProperty('rate')
    expect(config.bin).toBe('mqttctl')
  })

  it('a real process of the shipped entry uses it', async () => {
    const {stderr} = await run(process.execPath, [RUN_BIN, '--version'], {env: {...process.env, DEBUG: 'oclif:config:mqttctl'}})
    // dist/ is a link to the current build (test/helpers/cli.ts): oclif names the build's own path.
    expect(stderr).toContain(`using manifest from ${join(realpathSync(DIST), MANIFEST)}`)
  })

  it('writeManifest on a tree without one writes the same manifest; without it oclif still finds every command', async () => {
    // A copy of dist/ as a package of its own (its package.json, the package's node_modules linked).
    const pkg = mkdtempSync(join(tmpdir(), 'mqttctl-manifest-'))
    try {
      cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
      symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
      for (const dir of ['commands', 'src']) cpSync(join(DIST, dir), join(pkg, dir), {recursive: true, dereference: true})
      const bare = (await Config.load(oclifLoadOptions(pkg))).getPluginsList().find((p) => p.isRoot)!
      expect(bare.hasManifest).toBe(false)
      expect([...bare.commandIDs].sort()).toEqual(sourceIds().sort())
      expect(await writeManifest(pkg)).toBe(sourceIds().length)
      expect(readFileSync(join(pkg, MANIFEST), 'utf8')).toBe(readFileSync(join(DIST, MANIFEST), 'utf8'))
    } finally {
      rmSync(pkg, {recursive: true, force: true})
    }
  })
})
