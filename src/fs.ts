/**
 * File-system helpers shared by the commands and the broker's runtime entry (node:* imports only).
 */
import {existsSync, mkdirSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

const isDirectory = (path: string) => statSync(path, {throwIfNoEntry: false})?.isDirectory() === true

/**
 * `mkdir -p`, one level at a time: Node 20's mkdirSync(dir, {recursive: true}) never returns for a
 * path under a pseudo file system such as /proc, where it should fail. This fails fast instead,
 * with the errors mkdirSync(recursive) gives elsewhere: a one-line errno error such as
 * `ENOENT: no such file or directory, mkdir '/proc/x'`, EEXIST for a file at `dir`, ENOTDIR for a
 * file above it. `mode` applies to the directories it creates.
 */
export function makeDirs(dir: string, mode?: number): void {
  const path = resolve(dir)
  if (isDirectory(path)) return
  const parent = dirname(path)
  if (parent !== path && !existsSync(parent)) makeDirs(parent, mode)
  try {
    mkdirSync(path, mode === undefined ? undefined : {mode})
  } catch (error) {
    // Another process may have created it since the check, which mkdir -p allows.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(path)) throw error
  }
}
