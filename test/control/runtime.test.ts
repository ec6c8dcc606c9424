import {BROKER_NODE_FLAGS} from '../../src/broker/node-flags.js'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {ownRuntime, resolveRuntime} from '../../src/control/runtime.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-rt-'))
  dirs.push(dir)
  return dir
}

describe('resolveRuntime', () => {
  it('from sources: node <broker flags> --import tsx src/broker/main.ts', () => {
    const rt = ownRuntime()
    expect(rt.command).toBe(process.execPath)
    expect(rt.args).toEqual([...BROKER_NODE_FLAGS, '--import', expect.stringMatching(/^file:.*tsx/), expect.stringMatching(/src\/broker\/main\.ts$/)])
    expect(BROKER_NODE_FLAGS).toContain('--max-semi-space-size=2')
    expect(resolveRuntime(undefined)).toEqual(rt)
  })

  it('a build directory: its bin/mqtt-broker launcher, else bin/broker.js', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'broker.js'), '')
    expect(resolveRuntime(dir)).toEqual({command: process.execPath, args: [...BROKER_NODE_FLAGS, join(dir, 'bin', 'broker.js')], description: join(dir, 'bin', 'broker.js')})
    writeFileSync(join(dir, 'bin', 'mqtt-broker'), '#!/bin/sh\n')
    chmodSync(join(dir, 'bin', 'mqtt-broker'), 0o755)
    expect(resolveRuntime(dir)).toEqual({command: join(dir, 'bin', 'mqtt-broker'), args: [], description: join(dir, 'bin', 'mqtt-broker')})
    expect(resolveRuntime(join(dir, 'bin', 'mqtt-broker')).command).toBe(join(dir, 'bin', 'mqtt-broker'))
  })

  it('bad paths: one line with exit code 2', () => {
    const dir = tempDir()
    expect(() => resolveRuntime(join(dir, 'missing'))).toThrow(/--runtime .*missing: no such file or directory/)
    expect(() => resolveRuntime(dir)).toThrow(/no bin\/mqtt-broker or bin\/broker.js in that directory/)
    writeFileSync(join(dir, 'plain'), '')
    chmodSync(join(dir, 'plain'), 0o644)
    expect(() => resolveRuntime(join(dir, 'plain'))).toThrow(/is not executable/)
    expect(() => resolveRuntime(dir)).toThrow(expect.objectContaining({exitCode: 2}))
  })
})
