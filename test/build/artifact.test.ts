/**
 * The "done when": `build --devices 50000 --archive` gives an archive that, unpacked in an
 * empty directory elsewhere, starts a working broker configured for the medium tier; and two builds
 * are byte-identical.
 */
import {execFileSync} from 'node:child_process'
import {cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {build, type BuildResult, resolvePlan} from '../../src/build/index.js'
import {plan, tierByName} from '../../src/sizing/index.js'
import {roundTrip, startArtifact} from './run-artifact.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dirs: string[] = []
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `mqttctl-${name}-`))
  dirs.push(d)
  return d
}
/** node's directory and the system's, but no repository or node_modules. */
const PATH = `${dirname(process.execPath)}:/usr/bin:/bin`

function files(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? files(dir, join(base, e.name)) : [join(base, e.name)])).sort()
}

async function buildAt(dir: string, extra: Record<string, unknown> = {}): Promise<BuildResult> {
  return build(resolvePlan({devices: '50000', archive: true, out: join(dir, 'mqtt-broker'), ...extra}), {root, env: {}})
}

let first: BuildResult
let second: BuildResult
beforeAll(async () => {
  first = await buildAt(temp('build-a'))
  second = await buildAt(temp('build-b'))
}, 60_000)
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

describe('build --devices 50000 --archive', () => {
  it('writes the layout: bin, etc, systemd, scripts, README and a manifest of every file', () => {
    expect(files(first.out)).toEqual([
      'README.md',
      'SHA256SUMS',
      'bin/broker.mjs',
      'bin/mqtt-broker',
      'bin/package.json',
      'etc/broker.json',
      'manifest.json',
      'monitoring/grafana-dashboard.json',
      'monitoring/prometheus.yml',
      'monitoring/runtime-profile.json',
      'scripts/apply.sh',
      'scripts/limits.d/99-mqtt.conf',
      'scripts/sysctl.d/99-mqtt.conf',
      'scripts/systemd/mqtt-broker.service',
      'systemd/mqtt-broker.service',
    ])
    expect(statSync(join(first.out, 'bin/mqtt-broker')).mode & 0o777).toBe(0o755)
    // The launcher and the unit pass the broker's Node.js flags (V8 sizes its heap at start-up): the
    // plan's heap limit for 50,000 devices, as etc/broker.json's runtime settings say.
    const heap = plan({devices: 50_000}).runtime.heap
    const flags = `--max-semi-space-size=${heap.maxSemiSpaceMb} --max-old-space-size=${heap.maxOldSpaceMb}`
    expect(readFileSync(join(first.out, 'bin/mqtt-broker'), 'utf8')).toContain(`exec "$node" ${flags} "$here/broker.mjs" "$@"`)
    expect(readFileSync(join(first.out, 'systemd/mqtt-broker.service'), 'utf8')).toContain(`Environment="NODE_OPTIONS=${flags}"`)
    expect(JSON.parse(readFileSync(join(first.out, 'etc/broker.json'), 'utf8')).runtime).toEqual({maxOldSpaceMb: heap.maxOldSpaceMb, maxSemiSpaceMb: 2})
    const manifest = JSON.parse(readFileSync(join(first.out, 'manifest.json'), 'utf8'))
    expect(manifest.build).toMatchObject({tier: 'medium', devices: 50_000, optimize: 'fast', target: `linux-${process.arch}`, singleExecutable: false})
    expect(manifest.files.map((f: {path: string}) => f.path)).toEqual(files(first.out).filter((f) => f !== 'manifest.json' && f !== 'SHA256SUMS'))
    expect(JSON.stringify(manifest)).not.toMatch(/20\d\d-\d\d-\d\dT/)
    // sha256sum agrees with the manifest's checksums.
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], {cwd: first.out, encoding: 'utf8'})).not.toContain('FAILED')
    const config = JSON.parse(readFileSync(join(first.out, 'etc/broker.json'), 'utf8'))
    expect(config.maxConnections).toBe(tierByName('medium').broker.maxConnections)
    expect(readFileSync(join(first.out, 'systemd/mqtt-broker.service'), 'utf8')).toContain('ExecStart=/opt/mqtt-broker/bin/mqtt-broker --config /opt/mqtt-broker/etc/broker.json')
  })

  it('gives byte-identical bundles, layouts and archives from the same inputs', () => {
    expect(second.files).toEqual(first.files)
    for (const f of files(first.out)) expect(readFileSync(join(second.out, f)).equals(readFileSync(join(first.out, f))), f).toBe(true)
    expect(readFileSync(second.archive!.path).equals(readFileSync(first.archive!.path))).toBe(true)
  })

  it('unpacked in an empty directory elsewhere, starts a medium-tier broker that serves a real client', async () => {
    const where = temp('unpacked')
    execFileSync('tar', ['-xzf', first.archive!.path, '-C', where])
    const layout = join(where, 'mqtt-broker')
    const cwd = temp('cwd')
    const broker = await startArtifact(join(layout, 'bin/mqtt-broker'), ['--port', '0', '--host', '127.0.0.1'], {cwd, path: PATH})
    try {
      expect(await roundTrip(broker.port)).toBe('online')
      const state = JSON.parse(readFileSync(join(layout, 'data/broker.json'), 'utf8'))
      expect(state).toMatchObject({configFile: join(layout, 'etc/broker.json'), dataDir: join(layout, 'data'), maxConnections: 100_000, version: first.version})
    } finally {
      expect(await broker.stop()).toBe(0)
    }
    expect(broker.output()).toContain('received SIGTERM')
  })

  it('a copy of the layout takes the runtime options (--config, --data-dir, --log-level) like mqttctl start', async () => {
    const copy = join(temp('copy'), 'broker')
    cpSync(first.out, copy, {recursive: true})
    const cwd = temp('cwd')
    const data = join(cwd, 'state')
    const broker = await startArtifact(join(copy, 'bin/mqtt-broker'), ['--config', join(copy, 'etc/broker.json'), '--data-dir', data, '--log-level', 'debug', '--port', '0', '--host', '127.0.0.1'], {cwd, path: PATH})
    try {
      expect(await roundTrip(broker.port, 'a/b', 'x')).toBe('x')
      expect(JSON.parse(readFileSync(join(data, 'broker.json'), 'utf8'))).toMatchObject({dataDir: data, logLevel: 'debug'})
    } finally {
      expect(await broker.stop()).toBe(0)
    }
  })

  it('says what is wrong when node is missing on the server', () => {
    let err: {status?: number; stderr?: string} = {}
    try {
      execFileSync(join(first.out, 'bin/mqtt-broker'), ['--help'], {env: {PATH: '/nonexistent'}, encoding: 'utf8', stdio: 'pipe'})
    } catch (error) {
      err = error as typeof err
    }
    expect(err.status).toBe(127)
    expect(err.stderr).toContain('Node.js >= 20) is not on PATH')
  })
})
