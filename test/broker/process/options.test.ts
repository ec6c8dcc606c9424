/**
 * process/options.ts directly (the runtime's option table; test/control/options.test.ts covers the
 * CLI's re-export end to end): every option's value rule at and past its bounds with the exact
 * one-line message, switches, URL lists, --config, and the configuration file's place.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BROKER_OPTIONS, loadBrokerConfig, parseBrokerOptions, parseOptionValue} from '../../../src/broker/process/options.js'
import {ConfigError, FIELDS} from '../../../src/config/index.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-opts4-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const opt = (flag: string) => BROKER_OPTIONS.find((o) => o.flag === flag)!
const messageOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('BROKER_OPTIONS', () => {
  it('every option sets a configuration key the schema knows (listener options edit a listener), with help', () => {
    const flags = new Set<string>()
    for (const o of BROKER_OPTIONS) {
      expect(flags.has(o.flag), o.flag).toBe(false)
      flags.add(o.flag)
      expect(o.help.length, o.flag).toBeGreaterThan(10)
      if (!o.key.startsWith('listeners[')) expect(FIELDS.some((f) => f.key === o.key), o.key).toBe(true)
    }
  })
})

describe('parseOptionValue', () => {
  it('ports: 0 and 65535 are allowed, 65536 and signs, decimals or blanks are not', () => {
    for (const flag of ['port', 'tls-port', 'ws-port']) {
      expect(parseOptionValue(opt(flag), '0')).toBe(0)
      expect(parseOptionValue(opt(flag), ' 65535 ')).toBe(65_535)
      for (const bad of ['65536', '+1', '1e3', '0x10', '', '١٢']) {
        expect(messageOf(() => parseOptionValue(opt(flag), bad))).toBe(`--${flag} ${JSON.stringify(bad)} is not allowed: expected an integer from 0 to 65,535`)
      }
    }
  })

  it('other integers take the schema\'s bounds: at the maximum passes, one past and unsafe integers fail', () => {
    expect(parseOptionValue(opt('workers'), '1024')).toBe(1024)
    expect(messageOf(() => parseOptionValue(opt('workers'), '1025'))).toBe('--workers "1025" is not allowed: expected an integer from 1 to 1,024')
    expect(messageOf(() => parseOptionValue(opt('workers'), '0'))).toBe('--workers "0" is not allowed: expected an integer from 1 to 1,024')
    expect(messageOf(() => parseOptionValue(opt('max-connections'), '99999999999999999999'))).toContain('expected an integer from 1 to 100,000,000')
  })

  it('switches take true/false words in any case; anything else is one line', () => {
    for (const yes of ['1', 'true', 'YES', 'on', true]) expect(parseOptionValue(opt('metrics'), yes)).toBe(true)
    for (const no of ['0', 'False', 'no', 'OFF', false]) expect(parseOptionValue(opt('metrics'), no)).toBe(false)
    expect(messageOf(() => parseOptionValue(opt('metrics'), 'maybe'))).toBe('--metrics "maybe" is not allowed: expected true or false')
  })

  it('names an environment variable as given (NAME=value), enums list what is allowed, strings must not be blank', () => {
    expect(messageOf(() => parseOptionValue(opt('port'), 'x', 'environment MQTTCTL_PORT='))).toBe('environment MQTTCTL_PORT="x" is not allowed: expected an integer from 0 to 65,535')
    expect(messageOf(() => parseOptionValue(opt('log-level'), 'Debug'))).toBe('--log-level "Debug" is not allowed: expected one of debug, info, warn, error')
    expect(messageOf(() => parseOptionValue(opt('node-name'), '  '))).toBe('--node-name "" is not allowed: expected a non-empty value')
    expect(parseOptionValue(opt('host'), '::1')).toBe('::1')
  })

  it('--cluster takes a comma list of NATS URLs; a bad one is a ConfigError under cluster.servers', () => {
    expect(parseOptionValue(opt('cluster'), 'nats://127.0.0.1:4222, nats://10.0.0.2:4222')).toEqual(['nats://127.0.0.1:4222', 'nats://10.0.0.2:4222'])
    let err: unknown
    try {
      parseOptionValue(opt('cluster'), 'http://x:1')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).key).toBe('cluster.servers')
    expect((err as Error).message).toMatch(/^--cluster .*http:\/\/x:1/)
    expect((err as Error).message.split('\n')).toHaveLength(1)
  })
})

describe('parseBrokerOptions', () => {
  it('leaves out unset options and switches set to false; the first bad value throws', () => {
    expect(parseBrokerOptions({metrics: false, 'allow-anonymous': true, port: undefined})).toEqual({config: undefined, values: {'allow-anonymous': true}})
    expect(messageOf(() => parseBrokerOptions({port: '1', workers: 'many'}))).toBe('--workers "many" is not allowed: expected an integer from 1 to 1,024')
  })

  it('--config must be a non-empty path', () => {
    for (const bad of ['', '   ', true]) {
      expect(messageOf(() => parseBrokerOptions({config: bad}))).toBe('--config "" is not allowed: expected the path of a JSON configuration file (as `mqttctl plan --write` produces)')
    }
  })
})

describe('loadBrokerConfig: the configuration file\'s place', () => {
  it('refuses a configuration file the broker would overwrite in its data directory, naming both and a way out', () => {
    const data = join(dir, 'data')
    mkdirSync(join(data, 'store'), {recursive: true})
    for (const name of ['broker.json', 'broker.log', join('store', 'x.json')]) {
      const file = join(data, name)
      writeFileSync(file, JSON.stringify({dataDir: data}))
      const message = messageOf(() => loadBrokerConfig(parseBrokerOptions({config: file})))
      expect(message).toMatch(new RegExp(`^configuration file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is inside the data directory ${data.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} under a name the broker writes itself`))
      expect(message).toContain(`rename it (e.g. ${join(file, '..', 'mqttctl.json')})`)
    }
  })

  it('a configuration file of another name in the data directory is fine', () => {
    const data = join(dir, 'data2')
    mkdirSync(data)
    const file = join(data, 'mqttctl.json')
    writeFileSync(file, JSON.stringify({dataDir: data}))
    expect(loadBrokerConfig(parseBrokerOptions({config: file})).config.dataDir).toBe(data)
  })

  it('an out-of-range environment value that a flag overrides is no error; one that it does not is blamed on the variable', () => {
    expect(loadBrokerConfig(parseBrokerOptions({'stats-interval': '5'}), {MQTTCTL_STATS_INTERVAL: '0'}).config.statsInterval).toBe(5)
    expect(messageOf(() => loadBrokerConfig(parseBrokerOptions({}), {MQTTCTL_STATS_INTERVAL: '3601'}))).toBe('environment MQTTCTL_STATS_INTERVAL="3601" is not allowed: expected an integer from 1 to 3,600')
  })
})
