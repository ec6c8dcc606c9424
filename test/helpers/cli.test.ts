/**
 * DistBuilder (test/helpers/cli.ts), the "dist/ is current" step the CLI tests run first, on a small
 * package of its own in a temp dir: real tsc, real files, real child processes racing for the lock.
 */
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {tsxImportUrl} from '../../src/control/runtime.js'
import {DistBuilder, storeOf} from './cli.js'

const roots: string[] = []
afterAll(() => {
  for (const r of roots) rmSync(r, {recursive: true, force: true})
})

function write(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), {recursive: true})
  writeFileSync(join(root, file), text)
}

/** Sets every file and directory under `path` to `ms`. */
function setMtime(path: string, ms: number): void {
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) setMtime(join(path, name), ms)
  utimesSync(path, ms / 1000, ms / 1000)
}

/** A package with what the shipped entry needs, its sources a minute old. */
function fakePackage(): string {
  const root = mkdtempSync(join(tmpdir(), 'mqttctl-dist-'))
  roots.push(root)
  write(root, 'package.json', '{"type": "module"}')
  write(root, 'tsconfig.json', JSON.stringify({compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, rootDir: '.', outDir: 'dist', types: []}, include: ['commands', 'src']}))
  write(root, 'tsconfig.build.json', JSON.stringify({extends: './tsconfig.json', include: ['commands', 'src']}))
  write(root, 'src/control/fast-start.ts', 'export const fast: number = 1\n')
  write(root, 'src/broker/main.ts', "export const version: string = 'one'\n")
  write(root, 'commands/hello.ts', "export default 'hello'\n")
  write(root, 'commands/other.ts', "export default 'other'\n")
  write(root, 'bin/run.js', '\n')
  for (const p of ['src', 'commands', 'bin', 'tsconfig.json', 'tsconfig.build.json']) setMtime(join(root, p), Date.now() - 60_000)
  return root
}

const builds = (root: string) => readdirSync(storeOf(root)).filter((n) => n.startsWith('build-'))
const mainJs = (dir: string) => readFileSync(join(dir, 'src/broker/main.js'), 'utf8')

describe('DistBuilder: dist/ built when the sources changed, swapped in whole', {timeout: 120_000}, () => {
  it('builds a missing dist/ into the store, points dist at it, and it is current afterwards', async () => {
    const root = fakePackage()
    const b = new DistBuilder(root)
    expect(b.isCurrent()).toBe(false)
    await b.ensure()
    expect(b.ensured).toBe(true)
    expect(lstatSync(join(root, 'dist')).isSymbolicLink()).toBe(true)
    expect(realpathSync(join(root, 'dist')).startsWith(storeOf(root))).toBe(true)
    expect(mainJs(join(root, 'dist'))).toContain("export const version = 'one'")
    expect(b.isCurrent()).toBe(true)
    await b.ensure()
    expect(builds(root)).toHaveLength(1)
  })

  it('an edited or deleted source: a new build in a new directory; the old one stays as it was for whoever runs on it', async () => {
    const root = fakePackage()
    const b = new DistBuilder(root)
    await b.ensure()
    const first = realpathSync(join(root, 'dist'))
    // Newer than the build, older than the next one: no waiting for the clock to move.
    const edit = () => b.builtAt()! + 1
    write(root, 'src/broker/main.ts', "export const version: string = 'two'\n")
    setMtime(join(root, 'src/broker/main.ts'), edit())
    expect(b.isCurrent()).toBe(false)
    setMtime(join(root, 'src/broker/main.ts'), Date.now() - 60_000)
    expect(b.isCurrent()).toBe(true)
    // A deleted file shows as its directory's mtime.
    rmSync(join(root, 'commands/hello.ts'))
    setMtime(join(root, 'commands'), edit())
    expect(b.isCurrent()).toBe(false)
    await b.ensure()
    const second = realpathSync(join(root, 'dist'))
    expect(second).not.toBe(first)
    expect(mainJs(second)).toContain("'two'")
    expect(existsSync(join(second, 'commands/hello.js'))).toBe(false)
    expect(mainJs(first)).toContain("'one'")
    expect(existsSync(join(first, 'commands/hello.js'))).toBe(true)
    expect(existsSync(join(first, '.superseded'))).toBe(true)
  })

  it('a real dist/ directory (npm run build) newer than the sources is current; a rebuild moves it aside', async () => {
    const root = fakePackage()
    const b = new DistBuilder(root)
    await b.ensure()
    const built = realpathSync(join(root, 'dist'))
    rmSync(join(root, 'dist'))
    cpSync(built, join(root, 'dist.tmp'), {recursive: true})
    rmSync(join(root, 'dist.tmp/.mqttctl-build.json'))
    renameSync(join(root, 'dist.tmp'), join(root, 'dist'))
    const fresh = new DistBuilder(root)
    expect(fresh.isCurrent()).toBe(true)
    setMtime(join(root, 'bin/run.js'), Date.now())
    expect(fresh.isCurrent()).toBe(false)
    await fresh.ensure()
    expect(lstatSync(join(root, 'dist')).isSymbolicLink()).toBe(true)
    expect(readdirSync(storeOf(root)).filter((n) => n.startsWith('replaced-'))).toHaveLength(1)
  })

  it('two processes asking at once: one builds, the other waits for it and uses it', async () => {
    const root = fakePackage()
    const module = pathToFileURL(join(import.meta.dirname, 'cli.ts')).href
    const script = `const {DistBuilder} = await import(${JSON.stringify(module)}); await new DistBuilder(${JSON.stringify(root)}).ensure()`
    const run = () => execa(process.execPath, ['--import', tsxImportUrl(), '--input-type=module', '-e', script], {reject: false})
    const results = await Promise.all([run(), run()])
    expect(results.map((r) => [r.exitCode, r.stderr])).toEqual([[0, ''], [0, '']])
    expect(builds(root)).toHaveLength(1)
    expect(new DistBuilder(root).isCurrent()).toBe(true)
  })

  it('a lock left by a process that died is taken over', async () => {
    const root = fakePackage()
    const b = new DistBuilder(root)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    mkdirSync(b.lockDir, {recursive: true})
    writeFileSync(join(b.lockDir, 'owner'), String(dead))
    await b.ensure()
    expect(b.isCurrent()).toBe(true)
    expect(existsSync(b.lockDir)).toBe(false)
  })

  it('a build that emits nothing fails with one line saying why, and leaves dist/ as it was', async () => {
    const root = fakePackage()
    write(root, 'tsconfig.build.json', JSON.stringify({extends: './tsconfig.json', include: ['nothing-here']}))
    const error = await new DistBuilder(root).ensure().then(() => undefined, (e: Error) => e)
    expect(error?.message).toMatch(/^cannot build dist\/ for the CLI tests: the build exited \d+ without writing commands: .*TS18003/)
    expect(error?.message.split('\n')).toHaveLength(1)
    expect(existsSync(join(root, 'dist'))).toBe(false)
    expect(builds(root)).toEqual([])
  })
})
