/** The persistence section of the configuration: defaults, the "none" shorthand, bad values named. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {loadConfig} from '../../../src/config/index.js'

const dirs: string[] = []
function file(content: unknown): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-pcfg-'))
  dirs.push(d)
  const f = join(d, 'broker.json')
  writeFileSync(f, JSON.stringify(content))
  return f
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

describe('persistence configuration', () => {
  it('defaults to the durable store with fdatasync before every ack', () => {
    expect(loadConfig().config.persistence).toEqual({mode: 'durable', sync: 'always', syncInterval: 1000, compactMb: 64, subscriptionsInterval: 10})
  })

  it('"persistence": "none" is short for {"mode": "none"}', () => {
    expect(loadConfig({file: file({persistence: 'none'})}).config.persistence.mode).toBe('none')
    expect(loadConfig({file: file({persistence: {sync: 'interval', syncInterval: 200}})}).config.persistence).toMatchObject({mode: 'durable', sync: 'interval', syncInterval: 200})
  })

  it('environment variables select the mode and the sync', () => {
    const {config, sources} = loadConfig({env: {MQTTCTL_PERSISTENCE: 'none', MQTTCTL_PERSISTENCE_SYNC: 'interval'}})
    expect(config.persistence.mode).toBe('none')
    expect(config.persistence.sync).toBe('interval')
    expect(sources['persistence.mode']).toBe('env')
  })

  it('names a bad value and what is allowed', () => {
    expect(() => loadConfig({file: file({persistence: 'sometimes'})})).toThrow(/persistence\.mode = "sometimes" is not allowed: expected one of durable, none/)
    expect(() => loadConfig({file: file({persistence: {syncInterval: 0}})})).toThrow(/persistence\.syncInterval = 0 is not allowed/)
    expect(() => loadConfig({file: file({persistence: {fsync: true}})})).toThrow(/unknown key "persistence\.fsync"/)
  })
})
