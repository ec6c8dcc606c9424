/** The layout in memory (layout.ts), its README (readme.ts) and putting it on disk (write.ts), without esbuild. */
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'
import {BuildError} from '../../src/build/errors.js'
import {layoutFiles, sha256} from '../../src/build/layout.js'
import {resolvePlan} from '../../src/build/options.js'
import {operatorReadme} from '../../src/build/readme.js'
import {archiveEntries, layoutDirs, writeLayout} from '../../src/build/write.js'
import {BROKER_OPTIONS} from '../../src/control/options.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-layout-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const linux = {os: 'linux' as const, arch: 'x64', name: 'linux-x64'}
const windows = {os: 'windows' as const, arch: 'x64', name: 'windows-x64'}
const runtime = {bundle: Buffer.from('// the bundled broker\n'), esbuild: '0.0.0-test'}
const plan = (input = {}) => resolvePlan({tier: 'medium', out: join(dir, 'out'), ...input}, linux)
const byPath = (files: ReturnType<typeof layoutFiles>) => new Map(files.map((f) => [f.path, f]))

describe('layoutFiles', () => {
  const files = layoutFiles(plan(), runtime, '1.2.3')
  const get = (path: string) => byPath(files).get(path)!

  it('the files of a Linux layout, sorted, launcher and scripts executable', () => {
    const paths = files.map((f) => f.path)
    expect(paths).toEqual([...paths].sort())
    for (const p of ['bin/broker.mjs', 'bin/mqtt-broker', 'bin/package.json', 'etc/broker.json', 'systemd/mqtt-broker.service', 'scripts/apply.sh', 'README.md', 'manifest.json', 'SHA256SUMS']) expect(paths).toContain(p)
    expect(get('bin/mqtt-broker').mode).toBe(0o755)
    expect(get('scripts/apply.sh').mode).toBe(0o755)
    expect(get('etc/broker.json').mode).toBe(0o644)
    expect(get('bin/broker.mjs').content).toEqual(runtime.bundle)
    expect(get('bin/mqtt-broker').content.toString()).toMatch(/^#!\/bin\/sh\n[\s\S]*exec "\$node" .*"\$here\/broker\.mjs" "\$@"\n$/)
  })

  it('etc/broker.json is the plan\'s configuration; bin/package.json names the version', () => {
    expect(JSON.parse(get('etc/broker.json').content.toString())).toEqual(plan().config)
    expect(JSON.parse(get('bin/package.json').content.toString())).toMatchObject({name: 'mqttctl', version: '1.2.3'})
  })

  it('manifest.json and SHA256SUMS hold the true checksum of every other file', () => {
    const manifest = JSON.parse(get('manifest.json').content.toString())
    expect(manifest.version).toBe('1.2.3')
    expect(manifest.build).toMatchObject({tier: 'medium', target: 'linux-x64', singleExecutable: false, esbuild: '0.0.0-test'})
    for (const entry of manifest.files) {
      expect(entry.sha256).toBe(sha256(get(entry.path).content))
      expect(entry.size).toBe(get(entry.path).content.length)
    }
    const sums = get('SHA256SUMS').content.toString().trim().split('\n')
    expect(sums).toHaveLength(files.length - 1)
    for (const line of sums) {
      const [hash, path] = line.split('  ')
      expect(createHash('sha256').update(get(path).content).digest('hex')).toBe(hash)
    }
  })

  it('the same inputs give the same bytes', () => {
    const again = layoutFiles(plan(), runtime, '1.2.3')
    expect(again.map((f) => [f.path, f.mode, sha256(f.content)])).toEqual(files.map((f) => [f.path, f.mode, sha256(f.content)]))
  })

  it('Windows: a .cmd launcher and no systemd unit', () => {
    const win = byPath(layoutFiles({...plan(), target: windows}, runtime, '1.2.3'))
    expect(win.has('bin/mqtt-broker.cmd')).toBe(true)
    expect(win.has('bin/mqtt-broker')).toBe(false)
    expect([...win.keys()].some((p) => p.startsWith('systemd/'))).toBe(false)
    expect(win.get('bin/mqtt-broker.cmd')!.content.toString()).toContain('"%~dp0broker.mjs" %*\r\n')
  })
})

describe('operatorReadme', () => {
  it('names the install directory, the user, and every broker option', () => {
    const text = operatorReadme(plan({installDir: '/srv/mqtt', user: 'mq'}), '1.2.3')
    expect(text).toContain('sudo mkdir -p /srv/mqtt')
    expect(text).toContain('sudo install -d -o mq -g mq /srv/mqtt/data')
    for (const o of BROKER_OPTIONS) expect(text).toContain(`| \`--${o.flag}`)
  })
})

describe('writeLayout', () => {
  const files = layoutFiles(plan(), runtime, '1.2.3')

  it('layoutDirs and archiveEntries: every parent directory, one top directory, sorted', () => {
    expect(layoutDirs([{path: 'a/b/c.txt', content: Buffer.alloc(0), mode: 0o644, description: ''}])).toEqual(['a', 'a/b'])
    const entries = archiveEntries('top', files)
    expect(entries[0]).toEqual({path: 'top', type: 'dir', mode: 0o755})
    expect(entries.every((e) => e.path === 'top' || e.path.startsWith('top/'))).toBe(true)
  })

  it('writes every file with its mode and the archive, and leaves no temporary directory', () => {
    const out = join(dir, 'written')
    const result = writeLayout(files, out, {archive: `${out}.tar.gz`, mtime: 0, force: false})
    for (const f of files) {
      expect(readFileSync(join(out, f.path))).toEqual(f.content)
      expect(statSync(join(out, f.path)).mode & 0o777).toBe(f.mode)
    }
    expect(result.archive!.bytes).toBe(statSync(`${out}.tar.gz`).size)
    expect(gunzipSync(readFileSync(`${out}.tar.gz`)).subarray(0, 7).toString()).toBe('written')
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('an existing output is replaced only with force', () => {
    const out = join(dir, 'again')
    writeLayout(files, out, {mtime: 0, force: false})
    writeFileSync(join(out, 'stray'), 'x')
    expect(() => writeLayout(files, out, {mtime: 0, force: false})).toThrow(BuildError)
    expect(existsSync(join(out, 'stray'))).toBe(true)
    writeLayout(files, out, {mtime: 0, force: true})
    expect(existsSync(join(out, 'stray'))).toBe(false)
  })

  it('a failure leaves nothing behind and says what could not be written', () => {
    const out = join(dir, 'no-such-parent', 'out')
    expect(() => writeLayout(files, out, {mtime: 0, force: false})).toThrow(/^cannot write .*no-such-parent\/out: ENOENT/)
    expect(existsSync(join(dir, 'no-such-parent'))).toBe(false)
  })
})
