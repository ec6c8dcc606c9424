/** Doctor's store check: persistence off, file system, space against the store, fdatasync cost. */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {checkStore, fdatasyncMs} from '../../src/doctor/store.js'

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-store-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

const config = (p: Partial<typeof DEFAULT_CONFIG.persistence> = {}) => ({...DEFAULT_CONFIG, persistence: {...DEFAULT_CONFIG.persistence, ...p}})

describe('doctor: store', () => {
  it('warns that persistence none loses state at restart', () => {
    const c = checkStore(config({mode: 'none'}), tempDir())
    expect(c.status).toBe('warn')
    expect(c.detail).toMatch(/lost at every restart/)
  })

  it('passes on a local disk with room, naming the file system, the store size and the fdatasync cost', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'store'))
    writeFileSync(join(dir, 'store', 'journal-1.log'), Buffer.alloc(1000))
    const c = checkStore(config(), dir, () => 0.5)
    expect(c.status).toBe('pass')
    expect(c.detail).toMatch(/store 1000 B|store 1,000 B|store 1\.0 KB|store 0\.98 KiB|store 1 KB/)
    expect(c.detail).toMatch(/fdatasync 0\.50 ms/)
  })

  it('a slow fdatasync with sync "always" is a warning that names the way out', () => {
    const c = checkStore(config(), tempDir(), () => 35)
    expect(c.status).toBe('warn')
    expect(c.fix).toMatch(/interval/)
  })

  it('measures a real fdatasync', () => {
    expect(fdatasyncMs(tempDir(), 3)).toBeGreaterThan(0)
  })

  it('fails on a tmpfs (when root can mount one)', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip()
    const mnt = join(tempDir(), 'mnt')
    mkdirSync(mnt)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
    } catch {
      return ctx.skip()
    }
    try {
      const c = checkStore(config(), mnt, () => 0.1)
      expect(c.status).toBe('fail')
      expect(c.detail).toMatch(/^tmpfs/)
    } finally {
      execFileSync('umount', ['-l', mnt])
    }
  })
})
