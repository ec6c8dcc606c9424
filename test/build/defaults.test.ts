import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {layoutDefaults, optionValue, withLayoutDefaults} from '../../src/build/defaults.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-layout-'))
mkdirSync(join(root, 'etc'))
const own = join(root, 'etc/broker.json')
afterAll(() => rmSync(root, {recursive: true, force: true}))

const layout = (dataDir?: string) => writeFileSync(own, JSON.stringify(dataDir === undefined ? {maxConnections: 5} : {dataDir}))

describe('layoutDefaults', () => {
  it('the structured defaults start and withLayoutDefaults both apply', () => {
    layout('state/broker')
    expect(layoutDefaults(root, {}, {}, '/x')).toEqual({config: own, dataDir: join(root, 'state/broker')})
    expect(layoutDefaults(root, {config: own}, {}, '/x')).toEqual({dataDir: join(root, 'state/broker')})
    expect(layoutDefaults(root, {dataDir: '/d'}, {}, '/x')).toEqual({config: own})
    expect(layoutDefaults(root, {config: 'mine.json'}, {}, '/x')).toEqual({})
  })
})

describe('withLayoutDefaults', () => {
  it('uses the layout configuration and <install>/data when nothing is given', () => {
    layout('./data')
    expect(withLayoutDefaults(['--port', '1884'], {}, root, '/elsewhere')).toEqual(['--config', own, '--data-dir', join(root, 'data'), '--port', '1884'])
  })

  it('resolves a relative dataDir of the layout configuration against the install directory, given or defaulted', () => {
    layout('state/broker')
    expect(withLayoutDefaults([], {}, root, '/x')).toEqual(['--config', own, '--data-dir', join(root, 'state/broker')])
    expect(withLayoutDefaults(['--config', own], {}, root, '/x')).toEqual(['--data-dir', join(root, 'state/broker'), '--config', own])
    layout()
    expect(withLayoutDefaults([], {}, root, '/x')).toEqual(['--config', own, '--data-dir', join(root, 'data')])
  })

  it('leaves an absolute dataDir, --data-dir, MQTTCTL_DATA_DIR and the operator\'s own --config alone', () => {
    layout('/var/lib/mqtt-broker')
    expect(withLayoutDefaults([], {}, root, '/x')).toEqual(['--config', own])
    layout('./data')
    expect(withLayoutDefaults(['--data-dir=/d'], {}, root, '/x')).toEqual(['--config', own, '--data-dir=/d'])
    expect(withLayoutDefaults([], {MQTTCTL_DATA_DIR: '/e'}, root, '/x')).toEqual(['--config', own])
    expect(withLayoutDefaults(['--config', 'mine.json'], {}, root, '/x')).toEqual(['--config', 'mine.json'])
    expect(withLayoutDefaults(['--help'], {}, root, '/x')).toEqual(['--help'])
  })

  it('adds no --config when the layout has none', () => {
    expect(withLayoutDefaults(['--port', '1'], {}, join(root, 'missing'), '/x')).toEqual(['--port', '1'])
  })
})

describe('optionValue', () => {
  it('reads --name VALUE and --name=VALUE, the last one winning, and stops at --', () => {
    expect(optionValue(['--config', 'a', '--config=b'], 'config')).toBe('b')
    expect(optionValue(['--configx', 'a'], 'config')).toBeUndefined()
    expect(optionValue(['--', '--config', 'a'], 'config')).toBeUndefined()
  })
})
