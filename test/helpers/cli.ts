/**
 * The CLI as the tests run it: the shipped entry, bin/run.js over the compiled dist/ (what `npm
 * install` builds and users run), or bin/dev.js (the developer entry, TypeScript through tsx), which
 * one test per entry point keeps tested.
 *
 * ensureDist() makes dist/ current before a test runs the shipped entry, safely while several vitest
 * runs (and each run's workers) share this working tree:
 * - current = every file and directory under src/, commands/, bin/ and the tsconfig files is older
 *   than the start of the build dist/ holds (a deleted file shows as its directory's new mtime);
 *   a dist/ that `npm run build` wrote counts from its oldest file;
 * - stale: one process builds, under a lock (a directory only one mkdir can create; a holder that
 *   died is taken over), into a new directory under node_modules/.cache/mqttctl-dist, then points
 *   the dist symlink at it with one rename, so nobody reads a half-written dist/ and a process that
 *   started on the previous build keeps it (Node.js resolves the symlink once: its later imports
 *   come from the same build); builds superseded more than PRUNE_AFTER_MS ago are removed;
 * - the build is tsc's own emitter (the files `npm run build` writes) without its type check
 *   (`--noCheck`: `npm test` runs `tsc --noEmit` first and fails on type errors; tsx does not check
 *   them either), about half of tsc's time, then oclif's command manifest (scripts/oclif-manifest.js, as
 *   `npm run build`); a build that emits nothing fails with one line.
 */
import {execFile} from 'node:child_process'
import {lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The shipped entry (package.json "bin"): runs dist/. */
export const RUN_BIN = join(ROOT, 'bin', 'run.js')
/** The developer entry: runs the TypeScript sources through tsx. */
export const DEV_BIN = join(ROOT, 'bin', 'dev.js')
export type Entry = 'dist' | 'dev'
export const entryBin = (entry: Entry): string => (entry === 'dev' ? DEV_BIN : RUN_BIN)

/** Builds live in node_modules/.cache/mqttctl-dist (ignored by git, by tsc's include and by vitest). */
export const storeOf = (root: string): string => join(root, 'node_modules', '.cache', 'mqttctl-dist')
const STAMP = '.mqttctl-build.json'
const SUPERSEDED = '.superseded'
const INPUTS = ['src', 'commands', 'bin', join('scripts', 'oclif-manifest.js'), 'tsconfig.json', 'tsconfig.build.json', 'package.json']
/** Files the shipped entry loads first; a dist/ without them is not a build. */
const REQUIRED = ['commands', join('src', 'control', 'fast-start.js'), join('src', 'broker', 'main.js')]
const PRUNE_AFTER_MS = 10 * 60_000
const LOCK_WAIT_MS = 5 * 60_000
/** A lock directory whose owner file is still missing after this long was left by a crash. */
const OWNERLESS_STALE_MS = 10_000

/** The newest mtime (ms) of a file or directory under `path`, itself included. */
function newestMtime(path: string): number {
  let st
  try {
    st = lstatSync(path)
  } catch {
    return 0
  }
  let newest = st.mtimeMs
  if (st.isDirectory()) for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

function oldestFileMtime(path: string): number {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let oldest = Infinity
  for (const name of readdirSync(path)) oldest = Math.min(oldest, oldestFileMtime(join(path, name)))
  return oldest
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function statSafe(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return Date.now()
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function run(root: string, args: string[]): Promise<{code: number; output: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, {cwd: root, maxBuffer: 64 * 1024 * 1024}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code, output: `${stdout}${stderr}`})
    })
  })
}

/**
 * tsc's emitter, then the oclif command manifest beside the commands (as `npm run build`). The build
 * lives under node_modules/, where Node.js does not look further up for the package's "type": a
 * package.json of its own says its .js files are ES modules (else only Node's syntax detection made
 * them load, and oclif's manifest said CommonJS).
 */
async function compile(root: string, outDir: string): Promise<{code: number; output: string}> {
  const bin = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const built = await run(root, [bin, '-p', 'tsconfig.build.json', '--outDir', outDir, '--noCheck', '--pretty', 'false'])
  if (!exists(outDir)) return built
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({type: 'module', private: true})}\n`)
  // A tree without the manifest still runs (oclif reads every command instead); test/cli/oclif-root.test.ts checks it is there.
  if (!exists(join(outDir, 'src', 'cli', 'oclif-root.js')) || !exists(join(root, 'scripts', 'oclif-manifest.js'))) return built
  const manifest = await run(root, [join(root, 'scripts', 'oclif-manifest.js'), outDir])
  return manifest.code === 0 ? built : {code: manifest.code, output: `oclif manifest: ${manifest.output}`}
}

/** dist/ of the package at `root`: is it current, and a build when it is not. */
export class DistBuilder {
  readonly dist: string
  readonly store: string
  readonly lockDir: string
  #inflight: Promise<void> | undefined
  #ensured = false

  constructor(readonly root: string) {
    this.dist = join(root, 'dist')
    this.store = storeOf(root)
    this.lockDir = join(this.store, 'lock')
  }

  /** When the build in dist/ started reading the sources (ms), or undefined: no usable build. */
  builtAt(): number | undefined {
    if (!REQUIRED.every((f) => exists(join(this.dist, f)))) return undefined
    try {
      return (JSON.parse(readFileSync(join(this.dist, STAMP), 'utf8')) as {startedAt: number}).startedAt
    } catch {
      // `npm run build`: its files are written after tsc read every source.
      return lstatSync(this.dist).isSymbolicLink() ? undefined : oldestFileMtime(this.dist)
    }
  }

  /** Whether dist/ holds a build of the sources as they are now. */
  isCurrent(): boolean {
    const builtAt = this.builtAt()
    return builtAt !== undefined && Math.max(...INPUTS.map((i) => newestMtime(join(this.root, i)))) < builtAt
  }

  /** Makes dist/ current (one build, whoever asks at the same time); resolves when it is. */
  ensure(): Promise<void> {
    this.#inflight ??= (async () => {
      if (!this.isCurrent()) await this.#build()
      this.#ensured = true
    })().finally(() => (this.#inflight = undefined))
    return this.#inflight
  }

  /** Whether ensure() has succeeded in this process. */
  get ensured(): boolean {
    return this.#ensured
  }

  /** Takes the build lock (waiting for a live holder, taking over a dead one); returns its release. */
  async #lock(): Promise<() => void> {
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        mkdirSync(this.lockDir)
        writeFileSync(join(this.lockDir, 'owner'), String(process.pid))
        return () => rmSync(this.lockDir, {recursive: true, force: true})
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      let owner: number | undefined
      try {
        owner = Number(readFileSync(join(this.lockDir, 'owner'), 'utf8'))
      } catch {
        // created, owner not written yet (or a crash in between)
      }
      const stale = owner === undefined ? Date.now() - statSafe(this.lockDir) > OWNERLESS_STALE_MS : !(Number.isInteger(owner) && owner > 0 && isAlive(owner))
      if (stale) {
        // Moved aside first: of two processes that both saw it stale, one rename succeeds.
        try {
          const aside = `${this.lockDir}.stale-${process.pid}-${Date.now()}`
          renameSync(this.lockDir, aside)
          rmSync(aside, {recursive: true, force: true})
        } catch {
          // another process took it over
        }
        continue
      }
      if (Date.now() > deadline) throw new Error(`cannot build dist/ for the CLI tests: ${this.lockDir} held by pid ${owner} for over ${LOCK_WAIT_MS / 1000} s`)
      // Another process is building: its build is what this one waits for (no event crosses processes).
      await pause(100)
    }
  }

  /** Points dist at `target` with one rename (a real dist/ directory, from `npm run build`, is moved aside first). */
  #swapIn(target: string, id: string): string | undefined {
    const link = join(this.store, `link-${id}`)
    symlinkSync(relative(this.root, target), link)
    let previous: string | undefined
    for (let attempt = 0; ; attempt++) {
      let st
      try {
        st = lstatSync(this.dist)
      } catch {
        st = undefined
      }
      if (st?.isSymbolicLink()) previous = join(this.root, readlinkSync(this.dist))
      else if (st) {
        previous = join(this.store, `replaced-${id}-${attempt}`)
        renameSync(this.dist, previous)
      }
      try {
        renameSync(link, this.dist)
        return previous
      } catch (error) {
        // `npm run build` made a real dist/ in between: move that aside too.
        if (attempt >= 3) throw error
      }
    }
  }

  /** Removes builds superseded long enough ago that no test process still runs on them, and leftovers of dead builders. */
  #prune(current: string): void {
    for (const name of readdirSync(this.store)) {
      const path = join(this.store, name)
      if (path === current || name === 'lock') continue
      try {
        const pid = Number(/^(?:build|link)-\d+-(\d+)$/.exec(name)?.[1])
        const supersededLongAgo = exists(join(path, SUPERSEDED)) && Date.now() - statSafe(join(path, SUPERSEDED)) > PRUNE_AFTER_MS
        const deadBuilder = !exists(join(path, STAMP)) && Number.isInteger(pid) && !isAlive(pid)
        if (supersededLongAgo || deadBuilder || name.startsWith('lock.stale-')) rmSync(path, {recursive: true, force: true})
      } catch {
        // another process pruned it
      }
    }
  }

  async #build(): Promise<void> {
    mkdirSync(this.store, {recursive: true})
    const release = await this.#lock()
    try {
      if (this.isCurrent()) return
      const startedAt = Date.now()
      const id = `${startedAt}-${process.pid}`
      const out = join(this.store, `build-${id}`)
      const {code, output} = await compile(this.root, out)
      const first = output.split('\n').find((l) => l.trim() !== '') ?? '(no output)'
      const missing = REQUIRED.find((f) => !exists(join(out, f)))
      if (missing !== undefined) {
        rmSync(out, {recursive: true, force: true})
        throw new Error(`cannot build dist/ for the CLI tests: the build exited ${code} without writing ${missing}: ${first}`)
      }
      if (code !== 0) process.stderr.write(`warning: dist/ built, but tsc reported (exit ${code}): ${first}\n`)
      writeFileSync(join(out, STAMP), JSON.stringify({startedAt, pid: process.pid}))
      const previous = this.#swapIn(out, id)
      if (previous && previous !== out) writeFileSync(join(previous, SUPERSEDED), String(Date.now()))
      this.#prune(out)
    } finally {
      release()
    }
  }
}

const own = new DistBuilder(ROOT)

/** Makes this package's dist/ current; resolves when it is. */
export const ensureDist = (): Promise<void> => own.ensure()
/** Whether ensureDist() has succeeded in this process (a synchronous spawn needs it first). */
export const distEnsured = (): boolean => own.ensured
