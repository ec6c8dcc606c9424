/**
 * Puts the layout on disk all at once: everything is written into a hidden temp directory next to
 * --out (same file system) and renamed into place at the end, so a failed build leaves nothing, and
 * --force replaces an old layout only once the new one is complete.
 */
import {chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {makeDirs} from '../fs.js'
import {BuildError} from './errors.js'
import type {LayoutFile} from './layout.js'
import {type TarEntry, tarGz} from './tar.js'

/** Directories of the layout (every parent of every file), sorted. */
export function layoutDirs(files: readonly LayoutFile[]): string[] {
  const dirs = new Set<string>()
  for (const f of files) for (let d = dirname(f.path); d !== '.'; d = dirname(d)) dirs.add(d)
  return [...dirs].sort()
}

/** The archive's entries: everything under one top directory named like --out. */
export function archiveEntries(top: string, files: readonly LayoutFile[]): TarEntry[] {
  const entries: TarEntry[] = [{path: top, type: 'dir', mode: 0o755}]
  for (const d of layoutDirs(files)) entries.push({path: `${top}/${d}`, type: 'dir', mode: 0o755})
  for (const f of files) entries.push({path: `${top}/${f.path}`, type: 'file', mode: f.mode, content: f.content})
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

function replace(tmp: string, dest: string, force: boolean): void {
  if (existsSync(dest)) {
    if (!force) throw new BuildError(`${dest} already exists; pass --force to replace it`)
    const old = join(dirname(dest), `.${basename(dest)}.old-${process.pid}`)
    renameSync(dest, old)
    renameSync(tmp, dest)
    rmSync(old, {recursive: true, force: true})
  } else renameSync(tmp, dest)
}

export interface WriteResult {
  out: string
  archive?: {path: string; bytes: number}
}

export function writeLayout(files: readonly LayoutFile[], out: string, options: {archive?: string; mtime: number; force: boolean}): WriteResult {
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`)
  const tmpArchive = options.archive ? join(dirname(options.archive), `.${basename(options.archive)}.tmp-${process.pid}`) : undefined
  try {
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(tmp, {mode: 0o755})
    for (const d of layoutDirs(files)) makeDirs(join(tmp, d), 0o755)
    for (const f of files) {
      const path = join(tmp, f.path)
      writeFileSync(path, f.content, {mode: f.mode})
      chmodSync(path, f.mode)
    }
    let archive: WriteResult['archive']
    if (options.archive && tmpArchive) {
      const gz = tarGz(archiveEntries(basename(out), files), options.mtime)
      writeFileSync(tmpArchive, gz, {mode: 0o644})
      archive = {path: options.archive, bytes: gz.length}
    }
    replace(tmp, out, options.force)
    if (options.archive && tmpArchive) replace(tmpArchive, options.archive, options.force)
    return {out, archive}
  } catch (error) {
    rmSync(tmp, {recursive: true, force: true})
    if (tmpArchive) rmSync(tmpArchive, {force: true})
    if (error instanceof BuildError) throw error
    const e = error as NodeJS.ErrnoException
    throw new BuildError(`cannot write ${out}: ${e.code ?? e.message}${e.path ? ` (${e.path})` : ''}`, 1)
  }
}
