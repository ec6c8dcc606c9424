/** Writes rendered tune files under a directory: `tune --out DIR` and the scripts `tune --apply` runs. */
import {chmodSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {MqttctlError} from '../errors.js'
import {makeDirs} from '../fs.js'
import type {TuneFile} from './types.js'

/** tune --apply refused or a file could not be written: exit 1. */
export class TuneError extends MqttctlError {
  constructor(message: string) {
    super(message, 1)
    this.name = 'TuneError'
  }
}

/**
 * Writes each file to `dir`/`file.path` (creating directories, mode file.mode or 0644) and calls
 * `written` after each one. A failure throws a TuneError naming the file, e.g.
 * `cannot write /x/apply.sh: EACCES`; the files before it stay written.
 */
export function writeTuneFiles(files: readonly TuneFile[], dir: string, written?: (file: TuneFile, path: string) => void): string[] {
  const paths: string[] = []
  for (const f of files) {
    const path = join(dir, f.path)
    try {
      makeDirs(dirname(path))
      writeFileSync(path, f.content)
      chmodSync(path, f.mode ?? 0o644)
    } catch (error) {
      throw new TuneError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    paths.push(path)
    written?.(f, path)
  }
  return paths
}
