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
 *   them either), about half of tsc's time; a build that emits nothing fails with one line.
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

const DIST = join(ROOT, 'dist')
/** Builds live here (node_modules/ is ignored by git, by tsc's include and by vitest). */
export const STORE = join(ROOT, 'node_modules', '.cache', 'mqttctl-dist')
const LOCK = join(STORE, 'lock')
const STAMP = '.mqttctl-build.json'
const SUPERSEDED = '.superseded'
const INPUTS = ['src', 'commands', 'bin', 'tsconfig.json', 'tsconfig.build.json']
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

/** When the build in dist/ started reading the sources (ms), or undefined: no usable build. */
export function distBuiltAt(): number | undefined {
  if (!REQUIRED.every((f) => exists(join(DIST, f)))) return undefined
  try {
    return (JSON.parse(readFileSync(join(DIST, STAMP), 'utf8')) as {startedAt: number}).startedAt
  } catch {
    // `npm run build` (rm -rf dist && tsc): its files are written after tsc read every source.
    return lstatSync(DIST).isSymbolicLink() ? undefined : oldestFileMtime(DIST)
  }
}

/** Whether dist/ holds a build of the sources as they are now. */
export function distIsCurrent(): boolean {
  const builtAt = distBuiltAt()
  return builtAt !== undefined && Math.max(...INPUTS.map((i) => newestMtime(join(ROOT, i)))) < builtAt
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Takes the build lock (waiting for a live holder, taking over a dead one); returns its release. */
async function lock(): Promise<() => void> {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      mkdirSync(LOCK)
      writeFileSync(join(LOCK, 'owner'), String(process.pid))
      return () => rmSync(LOCK, {recursive: true, force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner: number | undefined
    try {
      owner = Number(readFileSync(join(LOCK, 'owner'), 'utf8'))
    } catch {
      // created, owner not written yet (or a crash in between)
    }
    const stale = owner === undefined ? Date.now() - statSafe(LOCK) > OWNERLESS_STALE_MS : !(Number.isInteger(owner) && owner > 0 && isAlive(owner))
    if (stale) {
      // Move it aside first: of two processes that both saw it stale, one rename succeeds.
      try {
        const aside = `${LOCK}.stale-${process.pid}-${Date.now()}`
        renameSync(LOCK, aside)
        rmSync(aside, {recursive: true, force: true})
      } catch {
        // someone else took it over
      }
      continue
    }
    if (Date.now() > deadline) throw new Error(`cannot build dist/ for the CLI tests: ${LOCK} held by pid ${owner} for over ${LOCK_WAIT_MS / 1000} s`)
    await pause(100)
  }
}

function statSafe(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return Date.now()
  }
}

function tsc(outDir: string): Promise<{code: number; output: string}> {
  const bin = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '-p', 'tsconfig.build.json', '--outDir', outDir, '--noCheck', '--pretty', 'false'], {cwd: ROOT, maxBuffer: 64 * 1024 * 1024}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code, output: `${stdout}${stderr}`})
    })
  })
}

/** Points dist at `target` with one rename (a real dist/ directory, from `npm run build`, is moved aside first). */
function swapIn(target: string, id: string): string | undefined {
  const link = join(STORE, `link-${id}`)
  symlinkSync(relative(ROOT, target), link)
  let previous: string | undefined
  for (let attempt = 0; ; attempt++) {
    let st
    try {
      st = lstatSync(DIST)
    } catch {
      st = undefined
    }
    if (st?.isSymbolicLink()) previous = join(ROOT, readlinkSync(DIST))
    else if (st) {
      previous = join(STORE, `replaced-${id}-${attempt}`)
      renameSync(DIST, previous)
    }
    try {
      renameSync(link, DIST)
      return previous
    } catch (error) {
      // `npm run build` made a real dist/ in between: move that aside too.
      if (attempt >= 3) throw error
    }
  }
}

/** Removes builds superseded long enough ago that no test process still runs on them, and leftovers of dead builders. */
function prune(current: string): void {
  for (const name of readdirSync(STORE)) {
    const path = join(STORE, name)
    if (path === current || name === 'lock') continue
    try {
      const superseded = statSafe(join(path, SUPERSEDED))
      const pid = Number(/^(?:build|link)-\d+-(\d+)$/.exec(name)?.[1])
      const supersededLongAgo = exists(join(path, SUPERSEDED)) && Date.now() - superseded > PRUNE_AFTER_MS
      const deadBuilder = !exists(join(path, STAMP)) && Number.isInteger(pid) && !isAlive(pid)
      const staleLock = name.startsWith('lock.stale-')
      if (supersededLongAgo || deadBuilder || staleLock) rmSync(path, {recursive: true, force: true})
    } catch {
      // another process pruned it
    }
  }
}

async function build(): Promise<void> {
  mkdirSync(STORE, {recursive: true})
  const release = await lock()
  try {
    if (distIsCurrent()) return
    const startedAt = Date.now()
    const id = `${startedAt}-${process.pid}`
    const out = join(STORE, `build-${id}`)
    const {code, output} = await tsc(out)
    const first = output.split('\n').find((l) => l.trim() !== '') ?? '(no output)'
    if (code !== 0 && !REQUIRED.every((f) => exists(join(out, f)))) {
      rmSync(out, {recursive: true, force: true})
      throw new Error(`cannot build dist/ for the CLI tests: tsc exited ${code}: ${first}`)
    }
    if (code !== 0) process.stderr.write(`warning: dist/ built, but tsc reported (exit ${code}): ${first}\n`)
    writeFileSync(join(out, STAMP), JSON.stringify({startedAt, pid: process.pid}))
    const previous = swapIn(out, id)
    if (previous && previous !== out) writeFileSync(join(previous, SUPERSEDED), String(Date.now()))
    prune(out)
  } finally {
    release()
  }
}

let inflight: Promise<void> | undefined
let ensured = false

/** Makes dist/ current (building it once, whoever asks at the same time); resolves when it is. */
export function ensureDist(): Promise<void> {
  inflight ??= (async () => {
    if (!distIsCurrent()) await build()
    ensured = true
  })().finally(() => (inflight = undefined))
  return inflight
}

/** Whether ensureDist() has succeeded in this process (a synchronous spawn needs it first). */
export const distEnsured = (): boolean => ensured
