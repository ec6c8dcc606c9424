/**
 * --single-executable: the host's own Node binary with the bundle injected. It runs with no node on
 * PATH, from a copy outside the repository. Where this host's Node cannot produce one, the build
 * refuses with a message that says why and what to do instead.
 */
import {cpSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {build, BuildError, resolvePlan, seaSupport} from '../../src/build/index.js'
import {roundTrip, startArtifact} from './run-artifact.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dirs: string[] = []
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `mqttctl-${name}-`))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

describe('build --single-executable', () => {
  it('runs with no Node.js on PATH and serves a real client', {timeout: 240_000}, async () => {
    const support = seaSupport()
    const input = {tier: 'small', singleExecutable: true, out: join(temp('sea'), 'mqtt-broker')}
    if (!support.ok) {
      expect(() => resolvePlan(input)).toThrow(BuildError)
      expect(() => resolvePlan(input)).toThrow(/cannot|instead, build without --single-executable/)
      return
    }
    const result = await build(resolvePlan(input), {root, env: {}})
    expect(result.singleExecutable).toBe(true)
    expect(result.files.map((f) => f.path)).not.toContain('bin/broker.mjs')
    const manifest = JSON.parse(readFileSync(join(result.out, 'manifest.json'), 'utf8'))
    expect(manifest.build).toMatchObject({singleExecutable: true, node: process.version, tier: 'small'})

    const copy = join(temp('sea-copy'), 'mqtt-broker')
    cpSync(result.out, copy, {recursive: true})
    expect(statSync(join(copy, 'bin/mqtt-broker')).mode & 0o111).not.toBe(0)
    const emptyPath = temp('no-node-here')
    const broker = await startArtifact(join(copy, 'bin/mqtt-broker'), ['--port', '0', '--host', '127.0.0.1'], {cwd: temp('cwd'), path: emptyPath})
    try {
      expect(await roundTrip(broker.port)).toBe('online')
      expect(JSON.parse(readFileSync(join(copy, 'data/broker.json'), 'utf8'))).toMatchObject({configFile: join(copy, 'etc/broker.json'), maxConnections: 10_000})
    } finally {
      expect(await broker.stop()).toBe(0)
    }
  })

  it('for another platform, falls back to the bundle and a launcher and says so', () => {
    const other = process.platform === 'win32' ? 'linux-x64' : 'windows-x64'
    const plan = resolvePlan({tier: 'small', singleExecutable: true, target: other, out: join(temp('cross'), 'mqtt-broker')})
    expect(plan.singleExecutable).toBe(false)
    expect(plan.notes.join('\n')).toMatch(new RegExp(`cannot produce a single executable for ${other}.*writing the JavaScript bundle bin/broker.mjs and a launcher instead`))
  })

  it('reports why the host cannot produce one', () => {
    expect(seaSupport({platform: 'linux', version: 'v20.10.0', execPath: process.execPath, config: {variables: {}}})).toMatchObject({ok: false, reason: expect.stringContaining('needs >= 20.12')})
    expect(seaSupport({platform: 'linux', version: process.version, execPath: process.execPath, config: {variables: {node_shared: true}}})).toMatchObject({ok: false, reason: expect.stringContaining('shared-library build')})
    expect(seaSupport({platform: 'darwin', version: process.version, execPath: process.execPath, config: {variables: {}}})).toMatchObject({ok: false, reason: expect.stringContaining('Linux hosts only')})
  })
})
