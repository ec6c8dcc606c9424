import {describe, expect, it} from 'vitest'
import {type BrokerConfig, DEFAULT_CONFIG} from '../../src/config/schema.js'
import {ConfigError, unknownKeys, validateConfig} from '../../src/config/validate.js'
import {MqttctlError} from '../../src/errors.js'

/** The defaults with one dotted key replaced (by anything: these are hostile values). */
function withValue(key: string, value: unknown): BrokerConfig {
  const c = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>
  const parts = key.split('.')
  let cur = c
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>
  cur[parts.at(-1)!] = value
  return c as unknown as BrokerConfig
}

function refusal(config: BrokerConfig, where = ''): ConfigError {
  try {
    validateConfig(config, where)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('validateConfig accepted it')
}

describe('validateConfig: one line naming the key, the value and what is allowed', () => {
  it('returns the same valid configuration', () => {
    const c = structuredClone(DEFAULT_CONFIG)
    expect(validateConfig(c)).toBe(c)
  })

  it.each([
    ['maxConnections', 0, 'maxConnections = 0 is not allowed: expected an integer from 1 to 100,000,000'],
    ['maxConnections', -5, 'maxConnections = -5 is not allowed: expected an integer from 1 to 100,000,000'],
    ['maxConnections', 100_000_001, 'maxConnections = 100000001 is not allowed: expected an integer from 1 to 100,000,000'],
    ['maxConnections', 1.5, 'maxConnections = 1.5 is not allowed: expected an integer from 1 to 100,000,000'],
    ['maxConnections', '500', 'maxConnections = "500" is not allowed: expected an integer from 1 to 100,000,000'],
    ['maxConnections', null, 'maxConnections = null is not allowed: expected an integer from 1 to 100,000,000'],
    ['limits.maxKeepAlive', true, 'limits.maxKeepAlive = true is not allowed: expected an integer from 0 to 65,535'],
    ['limits.maxPacketSize', 63, 'limits.maxPacketSize = 63 is not allowed: expected an integer from 64 to 268,435,455'],
    ['limits.maxQueuedBytes', 2 ** 40 + 1, 'limits.maxQueuedBytes = 1099511627777 is not allowed: expected an integer from 1,024 to 1,099,511,627,776'],
    ['statsInterval', [5], 'statsInterval = [5] is not allowed: expected an integer from 1 to 3,600'],
  ])('int %s = %j', (key, value, message) => {
    const e = refusal(withValue(key, value))
    expect(e.message).toBe(message)
    expect(e.key).toBe(key)
    expect(e.exitCode).toBe(2)
    expect(e).toBeInstanceOf(MqttctlError)
  })

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
  ])('a non-finite number (%s, e.g. 1e999 in a file) is shown as itself, not as "null"', (value, shown) => {
    expect(refusal(withValue('maxConnections', value)).message).toBe(`maxConnections = ${shown} is not allowed: expected an integer from 1 to 100,000,000`)
  })

  it('names where the configuration came from', () => {
    expect(refusal(withValue('ioEntries', 0), '/etc/mqtt/broker.json: ').message).toBe('/etc/mqtt/broker.json: ioEntries = 0 is not allowed: expected an integer from 1 to 1,048,576')
  })

  it.each([
    ['metrics.enabled', 'yes', 'metrics.enabled = "yes" is not allowed: expected true or false'],
    ['metrics.enabled', 1, 'metrics.enabled = 1 is not allowed: expected true or false'],
    ['dataDir', '', 'dataDir = "" is not allowed: expected a non-empty string'],
    ['dataDir', 42, 'dataDir = 42 is not allowed: expected a non-empty string'],
    ['logLevel', 'verbose', 'logLevel = "verbose" is not allowed: expected one of debug, info, warn, error'],
    ['logLevel', 'INFO', 'logLevel = "INFO" is not allowed: expected one of debug, info, warn, error'],
    ['persistence.mode', 'disk', 'persistence.mode = "disk" is not allowed: expected one of durable, none'],
    ['denySubscribe', 'a/#', 'denySubscribe = "a/#" is not allowed: expected a list of strings'],
    ['denySubscribe', ['a/#', 7], 'denySubscribe = ["a/#",7] is not allowed: expected a list of strings'],
    ['auth.passwordFile', '', 'auth.passwordFile = "" is not allowed: expected a non-empty string, or leave it out'],
    ['auth.passwordFile', false, 'auth.passwordFile = false is not allowed: expected a non-empty string, or leave it out'],
    ['auth.allowAnonymous', 'true', 'auth.allowAnonymous = "true" is not allowed: expected true or false, or leave it out'],
  ])('%s = %j', (key, value, message) => {
    const e = refusal(withValue(key, value))
    expect(e.message).toBe(message)
    expect(e.key).toBe(key)
  })

  it('optional fields may be left out', () => {
    const c = withValue('auth.passwordFile', undefined)
    expect(() => validateConfig(withValue('auth.allowAnonymous', undefined))).not.toThrow()
    expect(() => validateConfig(c)).not.toThrow()
  })

  it.each([
    [[], 'listeners', 'listeners = [] is not allowed: expected a non-empty list of {host, port}'],
    [{host: 'a', port: 1}, 'listeners', 'listeners = {"host":"a","port":1} is not allowed: expected a non-empty list of {host, port}'],
    [[null], 'listeners[0]', 'listeners[0] = null is not allowed: expected {host, port}'],
    [['0.0.0.0:1883'], 'listeners[0]', 'listeners[0] = "0.0.0.0:1883" is not allowed: expected {host, port}'],
    [[{host: '', port: 1}], 'listeners[0].host', 'listeners[0].host = "" is not allowed: expected an address such as 0.0.0.0 or 127.0.0.1 (at most 253 characters)'],
    [[{port: 1}], 'listeners[0].host', 'listeners[0].host = undefined is not allowed: expected an address such as 0.0.0.0 or 127.0.0.1 (at most 253 characters)'],
    [[{host: 'h'.repeat(254), port: 1}], 'listeners[0].host', `listeners[0].host = "${'h'.repeat(254)}" is not allowed: expected an address such as 0.0.0.0 or 127.0.0.1 (at most 253 characters)`],
    [Array.from({length: 65}, (_, i) => ({host: '127.0.0.1', port: 10_000 + i})), 'listeners', 'listeners has 65 entries, which is not allowed: at most 64'],
    [[{host: 'h', port: 1}, {host: 'h', port: 65_536}], 'listeners[1].port', 'listeners[1].port = 65536 is not allowed: expected an integer from 0 to 65,535'],
    [[{host: 'h', port: -1}], 'listeners[0].port', 'listeners[0].port = -1 is not allowed: expected an integer from 0 to 65,535'],
    [[{host: 'h', port: '1883'}], 'listeners[0].port', 'listeners[0].port = "1883" is not allowed: expected an integer from 0 to 65,535'],
    [[{host: 'h', port: 1, tls: {cert: 'c.pem'}}], 'listeners[0].tls.key', 'listeners[0].tls.key = undefined is not allowed: expected a path to a PEM file'],
    [[{host: 'h', port: 1, tls: null}], 'listeners[0].tls.cert', 'listeners[0].tls.cert = undefined is not allowed: expected a path to a PEM file'],
    [[{host: 'h', port: 1, websocket: 'yes'}], 'listeners[0].websocket', 'listeners[0].websocket = "yes" is not allowed: expected true or false'],
    [[{host: 'h', port: 1, path: '/mqtt'}], 'listeners[0].path', 'listeners[0].path = "/mqtt" is not allowed: expected an HTTP path such as "/mqtt" on a listener with "websocket": true'],
    [[{host: 'h', port: 1, websocket: true, path: 'mqtt'}], 'listeners[0].path', 'listeners[0].path = "mqtt" is not allowed: expected an HTTP path such as "/mqtt" on a listener with "websocket": true'],
    [[{host: 'h', port: 1, websocket: true, path: '/a b'}], 'listeners[0].path', 'listeners[0].path = "/a b" is not allowed: expected an HTTP path such as "/mqtt" on a listener with "websocket": true'],
    [[{host: 'h', port: 1, websocket: true, path: `/${'a'.repeat(1024)}`}], 'listeners[0].path', undefined],
  ])('listeners %j -> %s', (listeners, key, message) => {
    const e = refusal(withValue('listeners', listeners))
    expect(e.key).toBe(key)
    if (message) expect(e.message).toBe(message)
  })

  it.each([
    [[{host: 'h', port: 8883, tsl: {cert: 'c.pem', key: 'k.pem'}}], 'listeners[0].tsl', 'listeners[0].tsl is not allowed: unknown key; a listener has host, port, tls, websocket, path'],
    [[{host: 'h', port: 1}, {host: 'h', port: 2, webSocket: true}], 'listeners[1].webSocket', 'listeners[1].webSocket is not allowed: unknown key; a listener has host, port, tls, websocket, path'],
    [[{host: 'h', port: 1, tls: {cert: 'c', key: 'k', cafile: 'ca.pem'}}], 'listeners[0].tls.cafile', 'listeners[0].tls.cafile is not allowed: unknown key; tls has cert, key, ca'],
    [[{host: 'h', port: 1, tls: {cert: 'c', key: 'k', ca: ''}}], 'listeners[0].tls.ca', 'listeners[0].tls.ca = "" is not allowed: expected a path to a PEM file, or leave it out'],
    [[{host: 'h', port: 1, tls: {cert: 'c', key: 'k', ca: 5}}], 'listeners[0].tls.ca', 'listeners[0].tls.ca = 5 is not allowed: expected a path to a PEM file, or leave it out'],
  ])('a typo in a listener is named, not ignored (a "tsl" listener would serve plain MQTT): %j', (listeners, key, message) => {
    const e = refusal(withValue('listeners', listeners))
    expect(e.key).toBe(key)
    expect(e.message).toBe(message)
  })

  it('accepts TLS and WebSocket listeners that are complete', () => {
    const listeners = [
      {host: '0.0.0.0', port: 0},
      {host: '::', port: 8883, tls: {cert: 'c.pem', key: 'k.pem', ca: 'ca.pem'}},
      {host: '127.0.0.1', port: 8080, websocket: true, path: `/${'a'.repeat(1023)}`},
    ]
    expect(() => validateConfig(withValue('listeners', listeners))).not.toThrow()
  })
})

describe('unknownKeys: typos are named instead of ignored', () => {
  it('lists unknown top-level and nested keys, not the known ones or $schema/_comment', () => {
    const raw = {$schema: 'x', _comment: 'y', maxConnections: 1, maxConnection: 2, limits: {maxKeepAlive: 1, maxKeepalive: 2}, metrics: {port: 1}, auth: {aclfile: 'a'}}
    expect(unknownKeys(raw)).toEqual(['maxConnection', 'limits.maxKeepalive', 'auth.aclfile'])
  })

  it('JSON keys such as __proto__ or constructor are unknown keys, not special', () => {
    const raw = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "limits": {"__proto__": 1}}') as Record<string, unknown>
    expect(unknownKeys(raw)).toEqual(['__proto__', 'constructor', 'limits.__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a whole section is known even when its value has the wrong type (validation names the type then)', () => {
    expect(unknownKeys({listeners: 'x', denySubscribe: 5})).toEqual([])
    expect(unknownKeys({nothing: {}})).toEqual(['nothing'])
  })
})
