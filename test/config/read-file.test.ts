/** src/config/load.ts directly: the configuration file and MQTTCTL_* variables as hostile input. */
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {loadConfig, readConfigFile} from '../../src/config/load.js'
import {DEFAULT_CONFIG} from '../../src/config/schema.js'
import {ConfigError} from '../../src/config/validate.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-readfile-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
let n = 0
function file(content: string): string {
  const p = join(dir, `c${n++}.json`)
  writeFileSync(p, content)
  return p
}
function refusal(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(2)
    return error as ConfigError
  }
  throw new Error('accepted')
}

describe('readConfigFile', () => {
  it('a missing file, a directory and an unreadable path name the file and the error code', () => {
    const missing = join(dir, 'nope.json')
    expect(refusal(() => readConfigFile(missing)).message).toBe(`cannot read configuration file ${missing}: ENOENT`)
    const sub = join(dir, 'sub')
    mkdirSync(sub)
    expect(refusal(() => readConfigFile(sub)).message).toBe(`cannot read configuration file ${sub}: EISDIR`)
    const loop = join(dir, 'loop.json')
    symlinkSync(loop, loop)
    expect(refusal(() => readConfigFile(loop)).message).toBe(`cannot read configuration file ${loop}: ELOOP`)
  })

  it.each([
    ['{"maxConnections": 5,}', /is not valid JSON: /],
    ['', /is not valid JSON: /],
    ['\u0000\u0001', /is not valid JSON: /],
    ['[1, 2]', /must hold one JSON object$/],
    ['null', /must hold one JSON object$/],
    ['"text"', /must hold one JSON object$/],
    ['42', /must hold one JSON object$/],
  ])('%j is refused in one line naming the file', (content, message) => {
    const p = file(content)
    const e = refusal(() => readConfigFile(p))
    expect(e.message).toMatch(message)
    expect(e.message).toContain(p)
    expect(e.message).not.toContain('\n')
    expect(e.key).toBe('file')
  })

  it('an unknown key is named with the keys that are allowed', () => {
    const p = file('{"maxConnections": 5, "limits": {"maxKeepalive": 60}}')
    const e = refusal(() => readConfigFile(p))
    expect(e.message).toMatch(new RegExp(`^configuration file ${p}: unknown key "limits.maxKeepalive"; allowed keys: listeners, maxConnections, `))
    expect(e.message).toContain('limits.maxKeepAlive')
    expect(e.key).toBe('limits.maxKeepalive')
  })

  it('"persistence": "none" is short for {"mode": "none"}; the object form and $schema pass as they are', () => {
    expect(readConfigFile(file('{"persistence": "none"}'))).toEqual({persistence: {mode: 'none'}})
    expect(readConfigFile(file('{"$schema": "x", "persistence": {"mode": "durable", "sync": "interval"}}'))).toEqual({$schema: 'x', persistence: {mode: 'durable', sync: 'interval'}})
  })
})

describe('loadConfig: file values are validated and named by the file', () => {
  it.each([
    ['{"maxConnections": 1e999}', 'maxConnections = Infinity is not allowed: expected an integer from 1 to 100,000,000'],
    ['{"maxConnections": -1}', 'maxConnections = -1 is not allowed: expected an integer from 1 to 100,000,000'],
    ['{"maxConnections": 12345678901234567890}', 'maxConnections = 12345678901234567000 is not allowed: expected an integer from 1 to 100,000,000'],
    ['{"limits": {"connectTimeout": "10"}}', 'limits.connectTimeout = "10" is not allowed: expected an integer from 1 to 3,600'],
    ['{"persistence": "disk"}', 'persistence.mode = "disk" is not allowed: expected one of durable, none'],
    ['{"listeners": [{"host": "0.0.0.0", "port": 70000}]}', 'listeners[0].port = 70000 is not allowed: expected an integer from 0 to 65,535'],
  ])('%s', (content, message) => {
    const p = file(content)
    expect(refusal(() => loadConfig({file: p})).message).toBe(`${p}: ${message}`)
  })

  it('a valid file sets only what it names; the rest stay defaults and are marked so', () => {
    const p = file('{"maxConnections": 77, "limits": {"maxKeepAlive": 30}}')
    const {config, sources, file: f} = loadConfig({file: p})
    expect(f).toBe(p)
    expect(config.maxConnections).toBe(77)
    expect(config.limits.maxKeepAlive).toBe(30)
    expect(config.limits.connectTimeout).toBe(DEFAULT_CONFIG.limits.connectTimeout)
    expect(sources).toMatchObject({maxConnections: 'file', 'limits.maxKeepAlive': 'file', 'limits.connectTimeout': 'default'})
  })

  it('does not change DEFAULT_CONFIG or the base it is given', () => {
    const before = structuredClone(DEFAULT_CONFIG)
    const base = structuredClone(DEFAULT_CONFIG)
    loadConfig({base, file: file('{"limits": {"maxKeepAlive": 31}, "listeners": [{"host": "127.0.0.1", "port": 1}]}'), overrides: {maxConnections: 3}})
    expect(DEFAULT_CONFIG).toEqual(before)
    expect(base).toEqual(before)
  })
})

describe('loadConfig: MQTTCTL_* variables', () => {
  it.each([
    ['MQTTCTL_METRICS', 'yes', true],
    ['MQTTCTL_METRICS', 'ON', true],
    ['MQTTCTL_METRICS', '0', false],
    ['MQTTCTL_METRICS', 'off', false],
    ['MQTTCTL_MAX_CONNECTIONS', ' 250 ', 250],
  ])('%s=%j -> %j', (name, text, value) => {
    const {config, sources} = loadConfig({env: {[name]: text}})
    const key = name === 'MQTTCTL_METRICS' ? 'metrics.enabled' : 'maxConnections'
    expect(key === 'metrics.enabled' ? config.metrics.enabled : config.maxConnections).toBe(value)
    expect(sources[key]).toBe('env')
  })

  it.each([
    ['MQTTCTL_METRICS', 'maybe', 'environment MQTTCTL_METRICS="maybe" is not allowed: expected true or false'],
    ['MQTTCTL_METRICS', '', 'environment MQTTCTL_METRICS="" is not allowed: expected true or false'],
    ['MQTTCTL_MAX_CONNECTIONS', '', 'environment MQTTCTL_MAX_CONNECTIONS="" is not allowed: expected an integer in decimal digits'],
    ['MQTTCTL_MAX_CONNECTIONS', 'NaN', 'environment MQTTCTL_MAX_CONNECTIONS="NaN" is not allowed: expected an integer in decimal digits'],
    ['MQTTCTL_MAX_CONNECTIONS', '1.5', 'environment MQTTCTL_MAX_CONNECTIONS="1.5" is not allowed: expected an integer in decimal digits'],
    ['MQTTCTL_MAX_CONNECTIONS', '10k', 'environment MQTTCTL_MAX_CONNECTIONS="10k" is not allowed: expected an integer in decimal digits'],
    ['MQTTCTL_MAX_CONNECTIONS', '0', 'maxConnections = 0 is not allowed: expected an integer from 1 to 100,000,000'],
    ['MQTTCTL_MAX_CONNECTIONS', '1e999', 'environment MQTTCTL_MAX_CONNECTIONS="1e999" is not allowed: expected an integer in decimal digits'],
    ...['0x10', '1e3', '0b11', '0o7', '+5', '1_000', '5 5', '99999999999999999999'].map((t) => ['MQTTCTL_MAX_CONNECTIONS', t, `environment MQTTCTL_MAX_CONNECTIONS=${JSON.stringify(t)} is not allowed: expected an integer in decimal digits`]),
    ['MQTTCTL_LOG_LEVEL', 'loud', 'logLevel = "loud" is not allowed: expected one of debug, info, warn, error'],
    ['MQTTCTL_DATA_DIR', '', 'dataDir = "" is not allowed: expected a non-empty string'],
  ])('%s=%j is refused', (name, text, message) => {
    expect(refusal(() => loadConfig({env: {[name]: text}})).message).toBe(message)
  })

  it('variables that are not MQTTCTL_* names of a field are ignored; undefined ones too', () => {
    const {config} = loadConfig({env: {MQTTCTL_NOPE: 'x', MQTTCTL_MAX_CONNECTIONS: undefined, PATH: '/bin'}})
    expect(config).toEqual(DEFAULT_CONFIG)
  })
})

describe('loadConfig: flags', () => {
  it('an unknown key is refused, an undefined value skipped, a bad value validated', () => {
    expect(refusal(() => loadConfig({overrides: {'limits.nope': 1}})).message).toBe('unknown configuration key "limits.nope"')
    expect(loadConfig({overrides: {maxConnections: undefined}}).sources.maxConnections).toBe('default')
    expect(refusal(() => loadConfig({overrides: {maxConnections: Number.NaN}})).message).toBe('maxConnections = NaN is not allowed: expected an integer from 1 to 100,000,000')
  })
})

describe('readConfigFile: bounded', () => {
  it('a file above 1 MiB is refused without reading it all (a configuration is a few KB)', () => {
    const p = file(`{"_comment": "${'x'.repeat(1024 * 1024)}"}`)
    expect(refusal(() => readConfigFile(p)).message).toBe(`configuration file ${p} is larger than 1 MiB; a broker configuration is a few KB`)
  })

  it('an endless device (/dev/zero) is refused the same way instead of filling memory', () => {
    expect(refusal(() => readConfigFile('/dev/zero')).message).toBe('configuration file /dev/zero is larger than 1 MiB; a broker configuration is a few KB')
  })

  it('exactly 1 MiB is still read', () => {
    const body = '{"_comment": ""}'
    const p = file(body.slice(0, -2) + 'x'.repeat(1024 * 1024 - body.length) + '"}')
    expect(readConfigFile(p)._comment).toHaveLength(1024 * 1024 - body.length)
  })
})

describe('readConfigFile: sections', () => {
  it('a section of the wrong type is named as one, not as an unknown key', () => {
    for (const [key, value] of Object.entries({limits: 5, metrics: true, auth: null, cluster: ['nats://a:4222']})) {
      const p = file(JSON.stringify({[key]: value}))
      const e = refusal(() => readConfigFile(p))
      expect(e.message).toBe(`configuration file ${p}: ${key} = ${JSON.stringify(value)} is not allowed: expected an object of ${key}.* settings`)
      expect(e.key).toBe(key)
    }
  })
})
