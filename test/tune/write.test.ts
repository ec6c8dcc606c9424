import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {TuneError, writeTuneFiles} from '../../src/tune/write.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-tune-write-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('writeTuneFiles', () => {
  it('writes each file under the directory with its mode (default 0644), creating folders, and reports each', () => {
    const seen: string[] = []
    const out = join(dir, 'a')
    const paths = writeTuneFiles(
      [
        {path: 'sysctl.d/99-mqtt.conf', content: 'x = 1\n', description: 'kernel'},
        {path: 'apply.sh', content: '#!/bin/sh\n', mode: 0o755, description: 'script'},
      ],
      out,
      (f, path) => seen.push(`${f.path} ${path}`),
    )
    expect(paths).toEqual([join(out, 'sysctl.d/99-mqtt.conf'), join(out, 'apply.sh')])
    expect(seen).toEqual([`sysctl.d/99-mqtt.conf ${paths[0]}`, `apply.sh ${paths[1]}`])
    expect(readFileSync(paths[0], 'utf8')).toBe('x = 1\n')
    expect(statSync(paths[0]).mode & 0o777).toBe(0o644)
    expect(statSync(paths[1]).mode & 0o777).toBe(0o755)
  })

  it('a file that cannot be written is a TuneError naming it (exit 1); the ones before it stay', () => {
    const blocker = join(dir, 'blocker')
    writeFileSync(blocker, '')
    const files = [
      {path: 'ok.conf', content: 'ok\n', description: ''},
      {path: 'blocker/inside.conf', content: 'no\n', description: ''},
    ]
    let error: unknown
    try {
      writeTuneFiles(files, dir)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TuneError)
    expect((error as TuneError).exitCode).toBe(1)
    expect((error as Error).message).toMatch(new RegExp(`^cannot write ${join(dir, 'blocker/inside.conf')}: (ENOTDIR|EEXIST)$`))
    expect(readFileSync(join(dir, 'ok.conf'), 'utf8')).toBe('ok\n')
  })
})
