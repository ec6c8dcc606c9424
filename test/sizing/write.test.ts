import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadConfig} from '../../src/config/index.js'
import {tierByName} from '../../src/sizing/index.js'
import {WriteError, writeTierConfig} from '../../src/sizing/write.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-write-'))

describe('writeTierConfig', () => {
  it('writes a configuration loadConfig reads back with the tier figures', () => {
    const file = join(dir, 'large.json')
    writeTierConfig(file, tierByName('large'))
    const {config, sources} = loadConfig({file})
    expect(config).toMatchObject({maxConnections: 1_000_000, ioEntries: 4_095, clientPool: 100_000, forwardBatchSize: 5_000, logLevel: 'warn'})
    expect(sources.maxConnections).toBe('file')
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('never overwrites an existing file without force', () => {
    const file = join(dir, 'existing.json')
    writeFileSync(file, 'precious')
    expect(() => writeTierConfig(file, tierByName('small'))).toThrow(new WriteError(file, `${file} already exists; pass --force to overwrite it`, true))
    expect(readFileSync(file, 'utf8')).toBe('precious')
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    writeTierConfig(file, tierByName('small'), true)
    expect(loadConfig({file}).config.maxConnections).toBe(10_000)
  })

  it('reports a directory that does not exist', () => {
    const file = join(dir, 'no', 'such', 'dir.json')
    expect(() => writeTierConfig(file, tierByName('small'))).toThrow(`cannot write ${file}: ENOENT`)
  })
})
