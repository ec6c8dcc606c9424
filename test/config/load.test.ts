import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError, DEFAULT_CONFIG, configForTier, loadConfig, validateConfig} from '../../src/config/index.js'
import {tierByName} from '../../src/sizing/tiers.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-config-'))
function file(name: string, content: unknown): string {
  const p = join(dir, name)
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content))
  return p
}

describe('loadConfig', () => {
  it('returns the defaults, all marked default, when nothing is given', () => {
    const {config, sources} = loadConfig()
    expect(config).toEqual(DEFAULT_CONFIG)
    expect(config.listeners).toEqual([{host: '0.0.0.0', port: 1883}])
    expect(config.dataDir).toBe('./data')
    expect(config.statsInterval).toBe(5)
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']))
  })

  it('layers file < env < flags and records where each value came from', () => {
    const f = file('layers.json', {maxConnections: 500, logLevel: 'warn', limits: {maxKeepAlive: 120}, listeners: [{host: '127.0.0.1', port: 1999}]})
    const {config, sources} = loadConfig({
      file: f,
      env: {MQTTCTL_LOG_LEVEL: 'debug', MQTTCTL_METRICS: 'true', UNRELATED: 'x'},
      overrides: {maxConnections: 42},
    })
    expect(config.maxConnections).toBe(42)
    expect(sources.maxConnections).toBe('flag')
    expect(config.logLevel).toBe('debug')
    expect(sources.logLevel).toBe('env')
    expect(config.metrics.enabled).toBe(true)
    expect(config.limits.maxKeepAlive).toBe(120)
    expect(sources['limits.maxKeepAlive']).toBe('file')
    expect(config.limits.connectTimeout).toBe(DEFAULT_CONFIG.limits.connectTimeout)
    expect(sources['limits.connectTimeout']).toBe('default')
    expect(config.listeners).toEqual([{host: '127.0.0.1', port: 1999}])
  })

  it('does not mutate DEFAULT_CONFIG', () => {
    loadConfig({overrides: {'limits.maxKeepAlive': 7}})
    expect(DEFAULT_CONFIG.limits.maxKeepAlive).toBe(65_535)
  })

  it.each([
    [{maxConnections: 0}, 'maxConnections = 0'],
    [{maxConnections: 1.5}, 'maxConnections = 1.5'],
    [{maxConnections: '10'}, 'maxConnections = "10"'],
    [{logLevel: 'verbose'}, 'expected one of debug, info, warn, error'],
    [{listeners: []}, 'listeners = []'],
    [{listeners: [{host: '0.0.0.0', port: 70000}]}, 'listeners[0].port = 70000'],
    [{limits: {maxPacketSize: 1}}, 'limits.maxPacketSize = 1'],
    [{metrics: {enabled: 'yes'}}, 'metrics.enabled = "yes"'],
  ])('names the key and the value for a bad file value %j', (content, text) => {
    const f = file('bad.json', content)
    expect(() => loadConfig({file: f})).toThrow(ConfigError)
    expect(() => loadConfig({file: f})).toThrow(text)
    expect(() => loadConfig({file: f})).toThrow(f)
  })

  it('rejects unknown keys instead of ignoring a typo', () => {
    const f = file('typo.json', {maxConection: 5})
    expect(() => loadConfig({file: f})).toThrow('unknown key "maxConection"')
    const g = file('typo2.json', {limits: {maxKeepalive: 5}})
    expect(() => loadConfig({file: g})).toThrow('unknown key "limits.maxKeepalive"')
  })

  it('reports unreadable and non-JSON files in one line', () => {
    expect(() => loadConfig({file: join(dir, 'missing.json')})).toThrow(/cannot read configuration file .*missing\.json: ENOENT/)
    expect(() => loadConfig({file: file('broken.json', '{"a": ')})).toThrow(/is not valid JSON/)
    expect(() => loadConfig({file: file('array.json', '[]')})).toThrow(/must hold one JSON object/)
  })

  it('rejects bad environment values naming the variable', () => {
    expect(() => loadConfig({env: {MQTTCTL_MAX_CONNECTIONS: 'many'}})).toThrow('MQTTCTL_MAX_CONNECTIONS="many"')
    expect(() => loadConfig({env: {MQTTCTL_METRICS: 'perhaps'}})).toThrow('expected true or false')
  })

  it('rejects an unknown override key', () => {
    expect(() => loadConfig({overrides: {nope: 1}})).toThrow('unknown configuration key "nope"')
  })
})

describe('configForTier', () => {
  it.each(['small', 'medium', 'large'] as const)('gives a valid configuration with the %s tier figures', (name) => {
    const tier = tierByName(name)
    const config = configForTier(tier)
    expect(validateConfig(config)).toBe(config)
    expect(config).toMatchObject(tier.broker)
  })

  it('round-trips through a file', () => {
    const config = configForTier(tierByName('large'))
    const f = file('large.json', config)
    expect(loadConfig({file: f}).config).toEqual(config)
  })
})
