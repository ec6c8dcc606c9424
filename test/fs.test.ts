import {existsSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {makeDirs} from '../src/fs.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-fs-'))
  dirs.push(d)
  return d
}

describe('makeDirs', () => {
  it('creates every missing level, and again is a no-op', () => {
    const dir = join(tmp(), 'a', 'b', 'c')
    makeDirs(dir)
    makeDirs(dir)
    expect(statSync(dir).isDirectory()).toBe(true)
  })

  it('applies the mode to the directories it creates', () => {
    const dir = join(tmp(), 'a', 'b')
    makeDirs(dir, 0o700)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
  })

  it.runIf(process.platform === 'linux')('fails under /proc with ENOENT (where mkdirSync recursive never returns)', () => {
    expect(() => makeDirs('/proc/mqttctl-no-such-dir/data')).toThrow(expect.objectContaining({code: 'ENOENT'}))
  })

  it('a file in the way: EEXIST at the path, ENOTDIR above it, as mkdirSync(recursive) throws', () => {
    const file = join(tmp(), 'file')
    writeFileSync(file, '')
    expect(() => makeDirs(file)).toThrow(expect.objectContaining({code: 'EEXIST'}))
    expect(() => makeDirs(join(file, 'sub'))).toThrow(expect.objectContaining({code: 'ENOTDIR'}))
    expect(existsSync(join(file, 'sub'))).toBe(false)
  })
})
