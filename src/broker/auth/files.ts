/**
 * Reading the auth files (password file, ACL file) with the same limits and the same one-line
 * errors: `auth.passwordFile "/etc/mqtt/passwd" line 3: <what is wrong>`.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

/** Largest password or ACL file read (bytes). */
export const MAX_AUTH_FILE_BYTES = 64 * 1024 * 1024
/** Longest line (a 65,535-byte user name or topic plus its keyword or hash). */
export const MAX_LINE_BYTES = 65_535 + 1_024

/** A password or ACL file that cannot be used: one line naming the file and, when known, the line. */
export class AuthFileError extends Error {
  constructor(
    readonly setting: string,
    readonly path: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${setting} ${JSON.stringify(path)}${line === undefined ? '' : ` line ${line}`}: ${reason}`)
    this.name = 'AuthFileError'
  }
}

function why(error: unknown): string {
  switch ((error as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
      return 'cannot be read: no such file'
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied'
    case 'EISDIR':
      return 'cannot be read: it is a directory'
    default:
      return `cannot be read: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`
  }
}

/** The file's lines (without line endings); throws AuthFileError when unreadable, too big or not UTF-8. */
export function readAuthLines(setting: string, path: string): string[] {
  let buf: Buffer
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const st = fstatSync(fd)
    if (st.isDirectory()) throw Object.assign(new Error('directory'), {code: 'EISDIR'})
    if (st.size > MAX_AUTH_FILE_BYTES) throw new AuthFileError(setting, path, undefined, `is ${st.size} bytes, more than the ${MAX_AUTH_FILE_BYTES}-byte limit`)
    buf = Buffer.alloc(st.size)
    let off = 0
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off)
      if (n === 0) break
      off += n
    }
    buf = buf.subarray(0, off)
  } catch (error) {
    if (error instanceof AuthFileError) throw error
    throw new AuthFileError(setting, path, undefined, why(error))
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  const text = new TextDecoder('utf-8', {fatal: false}).decode(buf)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1)
    if (lines[i].includes('\uFFFD')) throw new AuthFileError(setting, path, i + 1, 'is not valid UTF-8')
    if (lines[i].length > MAX_LINE_BYTES) throw new AuthFileError(setting, path, i + 1, `is longer than ${MAX_LINE_BYTES} bytes`)
  }
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** A character no user name may hold: control characters (a log line or a file line could be forged). */
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/
