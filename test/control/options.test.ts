import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {ConfigError} from '../../src/config/index.js'
import {configRows} from '../../src/control/config-rows.js'
import {loadBrokerConfig, locateDataDir, parseBrokerOptions, toRuntimeArgs} from '../../src/control/options.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-opt-'))
  dirs.push(dir)
  const file = join(dir, 'broker.json')
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('parseBrokerOptions', () => {
  it('parses typed values and keeps --config', () => {
    expect(parseBrokerOptions({port: '1884', host: '127.0.0.1', 'log-level': 'debug', 'max-connections': '500', metrics: true, config: 'b.json'})).toEqual({
      config: 'b.json',
      values: {port: 1884, host: '127.0.0.1', 'log-level': 'debug', 'max-connections': 500, metrics: true},
    })
  })

  it.each([
    [{port: '70000'}, '--port "70000" is not allowed: expected an integer from 0 to 65,535'],
    [{port: 'abc'}, '--port "abc" is not allowed: expected an integer from 0 to 65,535'],
    [{port: '-1'}, '--port "-1" is not allowed: expected an integer from 0 to 65,535'],
    [{'max-connections': '0'}, '--max-connections "0" is not allowed: expected an integer from 1 to 100,000,000'],
    [{'log-level': 'loud'}, '--log-level "loud" is not allowed: expected one of debug, info, warn, error'],
    [{host: ' '}, '--host "" is not allowed: expected a non-empty value'],
    [{'stats-interval': '1.5'}, '--stats-interval "1.5" is not allowed: expected an integer from 1 to 3,600'],
  ])('rejects %o with one line naming the flag', (raw, message) => {
    expect(errorOf(() => parseBrokerOptions(raw)).message).toBe(message)
  })
})

describe('loadBrokerConfig', () => {
  it('defaults: 0.0.0.0:1883, ./data, every source "default"', () => {
    const {config, sources} = loadBrokerConfig(parseBrokerOptions({}))
    expect(config.listeners).toEqual([{host: '0.0.0.0', port: 1883}])
    expect(config.dataDir).toBe('./data')
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']))
  })

  it('file < env < flags, and --port edits the first listener keeping the file\'s others', () => {
    const file = configFile({listeners: [{host: '127.0.0.1', port: 2000}, {host: '127.0.0.1', port: 2001}], maxConnections: 100, logLevel: 'warn'})
    const env = {MQTTCTL_MAX_CONNECTIONS: '200', MQTTCTL_LOG_LEVEL: 'error'}
    const {config, sources} = loadBrokerConfig(parseBrokerOptions({config: file, port: '3000', 'log-level': 'debug'}), env)
    expect(config.listeners).toEqual([{host: '127.0.0.1', port: 3000}, {host: '127.0.0.1', port: 2001}])
    expect(config.maxConnections).toBe(200)
    expect(config.logLevel).toBe('debug')
    expect(sources).toMatchObject({listeners: 'flag', maxConnections: 'env', logLevel: 'flag', dataDir: 'default'})
  })

  it('MQTTCTL_PORT / MQTTCTL_HOST set the first listener, flags win over them', () => {
    const env = {MQTTCTL_PORT: '1999', MQTTCTL_HOST: '127.0.0.1'}
    const fromEnv = loadBrokerConfig(parseBrokerOptions({}), env)
    expect(fromEnv.config.listeners).toEqual([{host: '127.0.0.1', port: 1999}])
    expect(fromEnv.sources.listeners).toBe('env')
    const fromFlag = loadBrokerConfig(parseBrokerOptions({port: '2999'}), env)
    expect(fromFlag.config.listeners).toEqual([{host: '127.0.0.1', port: 2999}])
    expect(fromFlag.sources.listeners).toBe('flag')
  })

  it('names the bad key of a file, an env value and an env port', () => {
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({config: configFile({maxConnections: -5})}))).message).toMatch(/maxConnections = -5 is not allowed: expected an integer from 1/)
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({config: configFile({maxConections: 5})}))).message).toMatch(/unknown key "maxConections"/)
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({config: configFile('{nope')}))).message).toMatch(/is not valid JSON/)
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({}), {MQTTCTL_LOG_LEVEL: 'loud'})).message).toBe('environment MQTTCTL_LOG_LEVEL="loud" is not allowed: expected one of debug, info, warn, error')
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({}), {MQTTCTL_MAX_CONNECTIONS: '0'})).message).toBe('environment MQTTCTL_MAX_CONNECTIONS="0" is not allowed: expected an integer from 1 to 100,000,000')
    // A flag overrides the bad variable: no error.
    expect(loadBrokerConfig(parseBrokerOptions({'log-level': 'info'}), {MQTTCTL_LOG_LEVEL: 'loud'}).config.logLevel).toBe('info')
    expect(errorOf(() => loadBrokerConfig(parseBrokerOptions({}), {MQTTCTL_PORT: 'x'})).message).toBe('environment MQTTCTL_PORT="x" is not allowed: expected an integer from 0 to 65,535')
  })
})

describe('toRuntimeArgs', () => {
  it('reproduces the settings as runtime flags', () => {
    const settings = parseBrokerOptions({config: '/etc/b.json', port: '1884', 'data-dir': '/d', metrics: true})
    expect(toRuntimeArgs(settings)).toEqual(['--config', '/etc/b.json', '--port', '1884', '--data-dir', '/d', '--metrics'])
  })
})

describe('locateDataDir', () => {
  it('--data-dir, else the file, else MQTTCTL_DATA_DIR, else ./data', () => {
    const file = configFile({dataDir: '/srv/mqtt'})
    expect(locateDataDir({'data-dir': '/x', config: file})).toBe('/x')
    expect(locateDataDir({config: file}, {MQTTCTL_DATA_DIR: '/env'})).toBe('/env')
    expect(locateDataDir({config: file})).toBe('/srv/mqtt')
    expect(locateDataDir({})).toBe('./data')
  })
})

describe('configRows', () => {
  it('shows value and source per key', () => {
    const file = configFile({maxConnections: 100})
    const rows = configRows(loadBrokerConfig(parseBrokerOptions({config: file, port: '1900'}), {MQTTCTL_LOG_LEVEL: 'warn'}))
    expect(rows).toContainEqual(['listeners', '0.0.0.0:1900', 'flag'])
    expect(rows).toContainEqual(['maxConnections', '100', `file ${file}`])
    expect(rows).toContainEqual(['logLevel', '"warn"', 'env MQTTCTL_LOG_LEVEL'])
    expect(rows).toContainEqual(['dataDir', '"./data"', 'default'])
  })
})
