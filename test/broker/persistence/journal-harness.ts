/**
 * A Journal on a real temp directory with a file system that counts calls and can fail or hold any
 * of them, a ManualClock and a snapshot callback under the test's control (journal*.test.ts).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {memoryLogger} from '../../../src/broker/log.js'
import {T} from '../../../src/broker/persistence/codec.js'
import {scanRecords} from '../../../src/broker/persistence/decode.js'
import {writeKey} from '../../../src/broker/persistence/encode.js'
import {nodeFs, type StoreFs} from '../../../src/broker/persistence/files.js'
import {Journal, type JournalOptions} from '../../../src/broker/persistence/journal.js'
import type {SyncMode} from '../../../src/broker/persistence/figures.js'
import {afterEach} from 'vitest'
import {ManualClock} from '../../helpers/clock.js'
import {deferred} from '../../helpers/fakes.js'
import {tempDir} from './helpers.js'

type Op = keyof StoreFs

const open: Array<{j: Journal; snapshots: Harness['snapshots']}> = []

/** Closes every journal a test started (call once per file, after cleanupStores(): after-hooks run last first). */
export function cleanupJournals(): void {
  afterEach(async () => {
    for (const {j, snapshots} of open.splice(0)) {
      // A real snapshot stops when the journal closes; these wait for the test: settle them.
      for (const s of snapshots) s.resolve()
      await j.close()
    }
  })
}

export interface Harness {
  j: Journal
  dir: string
  clock: ManualClock
  lines: string[]
  /** Calls per file-system operation. */
  calls: Record<Op, number>
  /** The next call of `op` fails with `code` (once, or `times`). */
  fail(op: Op, code: string, times?: number): void
  /** The next call of `op` waits until release() is called. */
  hold(op: Op): {release(): void; reached: Promise<void>}
  /** snapshot(gen) calls; each waits for the test to settle it (resolve/reject). */
  snapshots: Array<{gen: number; resolve(): void; reject(err: Error): void}>
  fileSizes: Map<string, number>
  /** One counted change (a session delete record naming `id`); returns its count. */
  change(id: string): number
  /** The change's whenDurable outcome: undefined (durable) or the error. */
  durable(seq: number): Promise<Error | undefined>
  /** Client ids of the session-delete records in journal-<gen>.log. */
  ids(gen: number): string[]
}

export async function startJournal(o: {sync?: SyncMode; syncIntervalMs?: number; compactBytes?: number; retryMs?: number; gen?: number; sinceSnapshot?: number; compactNow?: boolean} = {}): Promise<Harness> {
  const dir = tempDir()
  const clock = new ManualClock(Date.UTC(2026, 11, 3, 12))
  const log = memoryLogger('debug')
  const calls = {} as Record<Op, number>
  const faults = new Map<Op, string[]>()
  const holds = new Map<Op, {gate: Promise<void>; reached(): void}>()
  const fs = {} as Record<Op, (...a: never[]) => Promise<unknown>>
  for (const op of Object.keys(nodeFs) as Op[]) {
    calls[op] = 0
    fs[op] = async (...args: never[]) => {
      calls[op]++
      const hold = holds.get(op)
      if (hold !== undefined) {
        holds.delete(op)
        hold.reached()
        await hold.gate
      }
      const code = faults.get(op)?.shift()
      if (code !== undefined) throw Object.assign(new Error(`${code}: injected`), {code})
      return (nodeFs[op] as (...a: never[]) => Promise<unknown>)(...args)
    }
  }
  const snapshots: Harness['snapshots'] = []
  const fileSizes = new Map<string, number>()
  const options: JournalOptions = {
    fileSizes,
    storeDir: dir,
    sync: o.sync ?? 'always',
    syncIntervalMs: o.syncIntervalMs ?? 1000,
    compactBytes: o.compactBytes ?? 64 * 1024 * 1024,
    retryMs: o.retryMs ?? 1000,
    log,
    fs: fs as unknown as StoreFs,
    clock,
    snapshot: (gen) => {
      const d = deferred<void>()
      snapshots.push({gen, resolve: () => d.resolve(), reject: d.reject})
      return d.promise
    },
  }
  const j = new Journal(options)
  open.push({j, snapshots})
  await j.start(o.gen ?? 1, o.sinceSnapshot ?? 0, o.compactNow ?? false)
  const h: Harness = {
    j,
    dir,
    clock,
    lines: log.lines,
    calls,
    fileSizes,
    snapshots,
    fail(op, code, times = 1) {
      faults.set(op, [...(faults.get(op) ?? []), ...Array<string>(times).fill(code)])
    },
    hold(op) {
      const gate = deferred<void>()
      const reached = deferred<void>()
      holds.set(op, {gate: gate.promise, reached: () => reached.resolve()})
      return {release: () => gate.resolve(), reached: reached.promise}
    },
    change(id) {
      writeKey(j.begin(), T.SessionDel, id)
      return j.seq
    },
    durable: (seq) => new Promise((resolve) => j.whenDurable(seq, resolve)),
    ids(gen) {
      const out: string[] = []
      const scan = scanRecords(readFileSync(join(dir, `journal-${gen}.log`)), (r) => {
        if (r.t === T.SessionDel) out.push(r.clientId)
      })
      if (scan.problem !== undefined) throw new Error(`journal-${gen}.log: ${scan.problem}`)
      return out
    },
  }
  return h
}
