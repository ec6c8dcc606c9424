/**
 * A reproducible .tar.gz: POSIX ustar entries in the order given (the caller sorts them), every
 * entry owned by root (uid/gid 0) with the same mtime (SOURCE_DATE_EPOCH, else 0), and a gzip header
 * with mtime 0 (node:zlib writes none). The same files give the same bytes.
 */
import {gzipSync} from 'node:zlib'

export interface TarEntry {
  /** Relative path with '/' separators; directories end without '/'. */
  path: string
  type: 'file' | 'dir'
  mode: number
  content?: Buffer
}

const BLOCK = 512

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

function splitName(path: string): {name: string; prefix: string} {
  if (Buffer.byteLength(path) <= 100) return {name: path, prefix: ''}
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return {name, prefix}
  }
  throw new Error(`path too long for a tar archive: ${path}`)
}

function header(e: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK)
  const {name, prefix} = splitName(e.type === 'dir' ? `${e.path}/` : e.path)
  h.write(name, 0, 100, 'utf8')
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  h.write(octal(e.type === 'file' ? (e.content?.length ?? 0) : 0, 12), 124, 'ascii')
  h.write(octal(mtime, 12), 136, 'ascii')
  h.write(' '.repeat(8), 148, 'ascii')
  h.write(e.type === 'dir' ? '5' : '0', 156, 'ascii')
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  h.write('root', 265, 'ascii')
  h.write('root', 297, 'ascii')
  h.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const byte of h) sum += byte
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
}

/** The uncompressed archive. */
export function tar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    parts.push(header(e, mtime))
    if (e.type === 'file' && e.content && e.content.length > 0) {
      parts.push(e.content)
      const pad = (BLOCK - (e.content.length % BLOCK)) % BLOCK
      if (pad > 0) parts.push(Buffer.alloc(pad))
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2))
  return Buffer.concat(parts)
}

/** The archive gzipped (level 9). */
export function tarGz(entries: readonly TarEntry[], mtime = 0): Buffer {
  return gzipSync(tar(entries, mtime), {level: 9})
}

/** SOURCE_DATE_EPOCH when it is a whole number of seconds, else 0. */
export function archiveMtime(env: Record<string, string | undefined> = process.env): number {
  const v = env.SOURCE_DATE_EPOCH
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 0
}
