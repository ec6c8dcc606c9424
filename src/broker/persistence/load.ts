/**
 * Loading at start: the newest snapshot, then the journals after it, replayed into a LoadState. A
 * damaged part (truncated tail, bad checksum, undecodable record, a file that is not what its name
 * says) is reported in one log line with what was kept and moved aside; the load goes on with the rest.
 */
import {closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import {NewerFormatError, type Rec, T} from './codec.js'
import {JOURNAL, journalPath, moveAside, scanFile, SNAPSHOT, SNAPSHOT_TMP, snapshotPath, stampOf} from './files.js'
import {LoadState} from './load-state.js'

export interface Loaded {
  state: LoadState
  /** The highest generation found (the next journal is maxGen + 1). */
  maxGen: number
  /** Bytes of the journals replayed (compaction trigger). */
  journalBytes: number
  journals: number
  /** Store files found. */
  files: number
  /** A snapshot was damaged or set aside: the state should be written into a fresh one at once. */
  damaged: boolean
}

class BadFile extends Error {}

/** Reads the store under `storeDir`; sets the loaded files' sizes in `fileSizes`. */
export function loadStore(storeDir: string, log: Logger, clock: Clock, fileSizes: Map<string, number>): Loaded {
  try {
    return loadFiles(storeDir, log, clock, fileSizes)
  } catch (error) {
    if (error instanceof NewerFormatError) {
      throw new Error(`a store file in ${storeDir} has ${error.message}: not read, not changed; run the newer broker, or move the store away to start empty`)
    }
    throw error
  }
}

function loadFiles(dir: string, log: Logger, clock: Clock, fileSizes: Map<string, number>): Loaded {
  const journals: number[] = []
  const snapshots: number[] = []
  let maxGen = 0
  for (const name of readdirSync(dir)) {
    if ((JOURNAL.test(name) || SNAPSHOT.test(name) || SNAPSHOT_TMP.test(name)) && !statSync(join(dir, name)).isFile()) {
      throw new Error(`${join(dir, name)} is not a regular file, so not a store file: move it out of ${dir}`)
    }
    let m = JOURNAL.exec(name)
    if (m !== null) {
      journals.push(Number(m[1]))
      continue
    }
    m = SNAPSHOT.exec(name)
    if (m !== null) {
      snapshots.push(Number(m[1]))
      continue
    }
    m = SNAPSHOT_TMP.exec(name)
    if (m !== null) {
      maxGen = Math.max(maxGen, Number(m[1]))
      log.info(`Store: removing ${name}, a snapshot that was not finished (the journal holds its changes)`)
      unlinkSync(join(dir, name))
    }
  }
  journals.sort((a, b) => a - b)
  snapshots.sort((a, b) => a - b)
  const state = new LoadState()
  const found = journals.length + snapshots.length
  for (const g of [...journals, ...snapshots]) maxGen = Math.max(maxGen, g)
  const stamp = stampOf(clock.now())

  // The base: the newest snapshot that is one. A file with that name but no record of a snapshot of its
  // generation (foreign bytes, another header, empty) is set aside whole and the one before it is tried:
  // taking it as the base would remove the journals it claims to replace.
  let base = 0
  let damaged = false
  while (snapshots.length > 0) {
    const gen = snapshots[snapshots.length - 1]
    const path = snapshotPath(dir, gen)
    let ended = false
    let applied = 0
    let extra = 0
    const scan = scanChecked(path, 1, gen, (rec) => {
      applied++
      if (ended) extra++
      else if (rec.t === T.SnapEnd) ended = true
      else state.apply(rec)
    })
    if (applied === 0) {
      snapshots.pop()
      damaged = true
      log.error(`Store: ${path} is damaged, not a snapshot of generation ${gen} (${scan.problem ?? 'no end record'}): moved to ${renameAside(path, stamp)}; loading from the files before it`)
      continue
    }
    base = gen
    fileSizes.set(path, scan.goodBytes)
    // Complete, then more records (two files run together?): what follows the end is not part of it.
    if (extra > 0) {
      damaged = true
      log.error(`Store: ${path} has ${extra} records after its end record: ignored, the snapshot before them is complete`)
    }
    if (scan.problem !== undefined || !ended) {
      damaged = true
      const why = scan.problem ?? 'no end record'
      const aside = scan.goodBytes < scan.size ? moveAside(path, scan.goodBytes, stamp) : undefined
      log.error(
        `Store: ${path} is damaged at byte ${scan.goodBytes} of ${scan.size} (${why}): kept the ${Math.max(0, scan.records - 1)} records before it${aside ? `, moved the rest to ${aside}` : ''}; starting with what was kept and the journal`,
      )
    }
    break
  }
  let journalBytes = 0
  let replayed = 0
  for (const g of journals) {
    const path = journalPath(dir, g)
    if (g < base) {
      // Left over from a compaction that finished: the snapshot has it.
      unlinkSync(path)
      continue
    }
    const scan = scanChecked(path, 0, g, (rec) => state.apply(rec))
    replayed++
    journalBytes += scan.goodBytes
    fileSizes.set(path, scan.goodBytes)
    if (scan.problem !== undefined) {
      const aside = moveAside(path, scan.goodBytes, stamp)
      log.error(
        `Store: ${path} is damaged at byte ${scan.goodBytes} of ${scan.size} (${scan.problem}): kept the ${Math.max(0, scan.records - 1)} changes before it, moved the other ${scan.size - scan.goodBytes} bytes to ${aside}; starting with what was kept`,
      )
    }
  }
  return {state, maxGen, journalBytes, journals: replayed, files: found, damaged}
}

/** Renames a whole store file to `<file>.corrupt-<stamp>` (kept for a person, never read again). */
function renameAside(path: string, stamp: string): string {
  let aside = `${path}.corrupt-${stamp}`
  for (let n = 1; existsSync(aside); n++) aside = `${path}.corrupt-${stamp}-${n}`
  renameSync(path, aside)
  const fd = openSync(dirname(path), 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return aside
}

/**
 * Scans one store file whose first record must be the header of `kind` (0 journal, 1 snapshot) and
 * generation `gen`; a wrong header makes it a damaged file from byte 0.
 */
function scanChecked(path: string, kind: 0 | 1, gen: number, each: (rec: Rec) => void): {records: number; goodBytes: number; size: number; problem?: string} {
  let first = true
  try {
    return scanFile(path, (rec) => {
      if (first) {
        first = false
        if (rec.t !== T.Header || rec.kind !== kind || rec.gen !== gen) throw new BadFile(`not a ${kind === 0 ? 'journal' : 'snapshot'} of this generation`)
        return
      }
      each(rec)
    })
  } catch (error) {
    if (!(error instanceof BadFile)) throw error
    return {records: 0, goodBytes: 0, size: statSync(path).size, problem: error.message}
  }
}
