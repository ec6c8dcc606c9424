/**
 * Shared by the start/stop/status tests: real CLI child processes, free ports, temp data dirs, cleanup.
 * The CLI is the shipped entry (bin/run.js over a dist/ built fresh: test/helpers/cli.ts), unless a
 * call asks for the developer entry (`entry: 'dev'`, bin/dev.js through tsx).
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, type Result, type ResultPromise} from 'execa'
import {beforeAll} from 'vitest'
import {isAlive} from '../../src/broker/process/state.js'
import {distEnsured, ensureDist, type Entry, entryBin, ROOT} from '../helpers/cli.js'
import {waitFor as waitUntil} from '../helpers/mqtt.js'

export {DEV_BIN, ROOT, RUN_BIN} from '../helpers/cli.js'

/** How long the first test of a file may wait for dist/ to be built (tsc, or another run's build). */
const BUILD_TIMEOUT_MS = 300_000

/** A port that was free a moment ago (bind port 0, read it, close). */
export {freePort} from '../../src/net.js'

/**
 * Waits until `fn` returns a truthy value (its `what` first, as these tests read best); the one
 * implementation is test/helpers/mqtt.ts waitFor.
 */
export function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  return waitUntil(fn, timeoutMs, what)
}

const alive = isAlive

export interface CliOptions {
  env?: Record<string, string>
  cwd?: string
  /** 'dist' (default): bin/run.js, as users run it; 'dev': bin/dev.js from the sources. */
  entry?: Entry
}

/** Tracks temp dirs and processes; `cleanup()` kills every broker whose pid file is in a tracked dir. */
export class Sandbox {
  readonly dirs: string[] = []
  readonly children: ResultPromise[] = []
  readonly pids = new Set<number>()
  /** cli() processes not finished yet. */
  readonly running = new Set<ResultPromise>()

  /** Created at a test file's top level: builds dist/ before the file's tests if the sources changed. */
  constructor() {
    beforeAll(() => ensureDist(), BUILD_TIMEOUT_MS)
  }

  dir(prefix = 'mqttctl-ctl-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix))
    this.dirs.push(d)
    return d
  }

  /** Runs the CLI to completion. */
  async cli(args: string[], options: CliOptions = {}): Promise<Result<{reject: false; timeout: number}>> {
    if ((options.entry ?? 'dist') === 'dist' && !distEnsured()) await ensureDist()
    const child = execa(process.execPath, [entryBin(options.entry ?? 'dist'), ...args], {reject: false, cwd: options.cwd ?? ROOT, env: {NO_COLOR: '1', NODE_ENV: 'production', ...options.env}, timeout: 60_000})
    // Still running when the test ends (it timed out): cleanup kills it (a foreground start would stay).
    this.running.add(child)
    try {
      return await child
    } finally {
      this.running.delete(child)
    }
  }

  /** Starts the CLI and leaves it running (foreground `start`); killed in cleanup. */
  spawn(args: string[], options: CliOptions = {}): ResultPromise<{reject: false; all: true}> {
    if ((options.entry ?? 'dist') === 'dist' && !distEnsured()) throw new Error('Sandbox.spawn before dist/ was built: create the Sandbox at the top level of the test file (its beforeAll builds dist/)')
    const child = execa(process.execPath, [entryBin(options.entry ?? 'dist'), ...args], {reject: false, cwd: options.cwd ?? ROOT, env: {NO_COLOR: '1', NODE_ENV: 'production', ...options.env}, all: true})
    this.children.push(child)
    return child
  }

  /** Remembers a pid to SIGKILL in cleanup if it still runs. */
  track(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid)
  }

  async cleanup(): Promise<void> {
    // Every broker whose pid file or broker.json sits in a tracked dir or one level below (dir/data).
    for (const d of this.dirs) {
      const candidates = [d, ...readdirSync(d, {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => join(d, e.name))]
      for (const c of candidates) {
        for (const [file, read] of [
          ['broker.pid', (t: string) => Number(t.trim())],
          ['broker.json', (t: string) => Number((JSON.parse(t) as {pid: number}).pid)],
        ] as const) {
          try {
            this.pids.add(read(readFileSync(join(c, file), 'utf8')))
          } catch {
            // no broker there
          }
        }
      }
    }
    for (const c of [...this.children, ...this.running]) if (c.pid !== undefined) this.pids.add(c.pid)
    for (const pid of this.pids) {
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL')
    }
    await Promise.allSettled([...this.children, ...this.running])
    for (const pid of this.pids) await waitFor(`pid ${pid} to exit`, () => !alive(pid), 5_000).catch(() => {})
    for (const d of this.dirs.splice(0)) rmSync(d, {recursive: true, force: true})
    this.children.length = 0
    this.pids.clear()
  }
}
