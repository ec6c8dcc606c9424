import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {archiveMtime, type TarEntry, tarGz} from '../../src/build/tar.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-tar-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const long = `top/${'d'.repeat(90)}/${'f'.repeat(60)}.txt`
const entries: TarEntry[] = [
  {path: 'top', type: 'dir', mode: 0o755},
  {path: 'top/bin', type: 'dir', mode: 0o755},
  {path: 'top/bin/run', type: 'file', mode: 0o755, content: Buffer.from('#!/bin/sh\necho hi\n')},
  {path: 'top/empty', type: 'file', mode: 0o644, content: Buffer.alloc(0)},
  {path: 'top/block', type: 'file', mode: 0o600, content: Buffer.alloc(512, 7)},
  {path: long, type: 'file', mode: 0o644, content: Buffer.from('long name')},
]

describe('tarGz', () => {
  it('writes an archive GNU tar extracts with contents, modes, root ownership and the given mtime', () => {
    const file = join(dir, 'a.tar.gz')
    writeFileSync(file, tarGz(entries, 1_700_000_000))
    const out = join(dir, 'x')
    execFileSync('mkdir', [out])
    execFileSync('tar', ['-xzf', file, '-C', out])
    expect(readFileSync(join(out, 'top/bin/run'), 'utf8')).toBe('#!/bin/sh\necho hi\n')
    expect(statSync(join(out, 'top/bin/run')).mode & 0o777).toBe(0o755)
    expect(statSync(join(out, 'top/block')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(out, 'top/block')).equals(Buffer.alloc(512, 7))).toBe(true)
    expect(statSync(join(out, 'top/empty')).size).toBe(0)
    expect(readFileSync(join(out, long), 'utf8')).toBe('long name')
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', file], {encoding: 'utf8', env: {...process.env, TZ: 'UTC'}})
    expect(listing).toContain('0/0')
    expect(listing).toContain('2023-11-14 22:13:20')
  })

  it('gives the same bytes for the same entries', () => {
    expect(tarGz(entries).equals(tarGz(entries))).toBe(true)
    // gzip header: no timestamp (bytes 4-7).
    expect(tarGz(entries).readUInt32LE(4)).toBe(0)
  })

  it('takes the mtime from SOURCE_DATE_EPOCH, else 0', () => {
    expect(archiveMtime({SOURCE_DATE_EPOCH: '1700000000'})).toBe(1_700_000_000)
    expect(archiveMtime({SOURCE_DATE_EPOCH: 'soon'})).toBe(0)
    expect(archiveMtime({})).toBe(0)
  })
})
