/**
 * The TLS flags (--tls-port --tls-cert --tls-key --tls-ca --tls-host) of `mqttctl start` and of the
 * runtime entry: parsing and merging (pure), --print-config, the one-line errors through the real
 * CLI, and a broker started by the CLI serving MQTT.js and mosquitto_sub over TLS next to 1883-style.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {ConfigError} from '../../src/config/index.js'
import {configRows} from '../../src/control/config-rows.js'
import {loadBrokerConfig, parseBrokerOptions, toRuntimeArgs} from '../../src/control/options.js'
import {parseMainArgs, runMain, usage} from '../../src/broker/process/run-main.js'
import type {BrokerState} from '../../src/broker/process/state.js'
import {makeCerts, type TestCerts} from '../broker/tls/certs.js'
import {requireMosquittoClients, mosquittoSub} from '../helpers/mosquitto.js'
import {freePort, Sandbox, waitFor} from './helpers.js'

let certs: TestCerts
beforeAll(async () => {
  await requireMosquittoClients()
  certs = await makeCerts()
})
afterAll(() => certs?.cleanup())

const box = new Sandbox()
afterEach(() => box.cleanup())

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

const load = (raw: Record<string, string | boolean>, env: Record<string, string> = {}) => loadBrokerConfig(parseBrokerOptions(raw), env)

function configFile(content: unknown): string {
  const file = join(box.dir(), 'broker.json')
  writeFileSync(file, JSON.stringify(content))
  return file
}

describe('TLS options (pure)', () => {
  it('--tls-cert + --tls-key add a TLS listener on 8883 at the first listener\'s host', () => {
    const {config, sources} = load({host: '127.0.0.1', 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey})
    expect(config.listeners).toEqual([
      {host: '127.0.0.1', port: 1883},
      {host: '127.0.0.1', port: 8883, tls: {cert: certs.serverCert, key: certs.serverKey}},
    ])
    expect(sources.listeners).toBe('flag')
  })

  it('--tls-port, --tls-host and --tls-ca set the rest; toRuntimeArgs passes them on', () => {
    const raw = {'tls-port': '0', 'tls-host': '127.0.0.2', 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey, 'tls-ca': certs.ca}
    const settings = parseBrokerOptions(raw)
    expect(loadBrokerConfig(settings).config.listeners[1]).toEqual({host: '127.0.0.2', port: 0, tls: {cert: certs.serverCert, key: certs.serverKey, ca: certs.ca}})
    expect(toRuntimeArgs(settings)).toEqual(['--tls-port', '0', '--tls-host', '127.0.0.2', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-ca', certs.ca])
    expect(parseMainArgs(toRuntimeArgs(settings))).toMatchObject(raw)
  })

  it('edit the configuration\'s TLS listener instead of adding one', () => {
    const file = configFile({listeners: [{host: '127.0.0.1', port: 2000}, {host: '127.0.0.1', port: 2001, tls: {cert: certs.serverCert, key: certs.serverKey}}]})
    const {config} = load({config: file, 'tls-port': '2002', 'tls-ca': certs.ca})
    expect(config.listeners).toEqual([
      {host: '127.0.0.1', port: 2000},
      {host: '127.0.0.1', port: 2002, tls: {cert: certs.serverCert, key: certs.serverKey, ca: certs.ca}},
    ])
  })

  it('configRows shows the TLS listener with its files', () => {
    const rows = configRows(load({host: '127.0.0.1', 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey, 'tls-ca': certs.ca}))
    expect(rows).toContainEqual(['listeners', `127.0.0.1:1883, 127.0.0.1:8883 (tls: cert ${certs.serverCert}, key ${certs.serverKey}, client ca ${certs.ca})`, 'flag'])
  })

  it.each([
    [{'tls-cert': 'c.pem'}, '--tls-cert "c.pem" needs --tls-key FILE: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)'],
    [{'tls-key': 'k.pem'}, '--tls-key "k.pem" needs --tls-cert FILE: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)'],
    [{'tls-port': '8884'}, '--tls-port "8884" needs --tls-cert FILE and --tls-key FILE: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)'],
    [{'tls-port': '65536'}, '--tls-port "65536" is not allowed: expected an integer from 0 to 65,535'],
    [{'tls-cert': ' '}, '--tls-cert "" is not allowed: expected a non-empty value'],
  ])('%o: one line naming the flag', (raw, message) => {
    expect(errorOf(() => load(raw)).message).toBe(message)
  })

  it('a TLS port another listener already uses', () => {
    const files = {'tls-cert': certs.serverCert, 'tls-key': certs.serverKey}
    expect(errorOf(() => load({...files, 'tls-port': '1883'})).message).toBe('--tls-port "1883" is not allowed: listeners[0] (0.0.0.0:1883) already uses port 1883; choose another --tls-port')
    expect(errorOf(() => load({...files, port: '8883'})).message).toBe(
      '--tls-host "0.0.0.0" is not allowed: listeners[0] (0.0.0.0:8883) already uses port 8883 (the TLS listener defaults to 8883); choose another --tls-port',
    )
    // Port 0 never clashes; different addresses do not either.
    expect(load({...files, port: '0', 'tls-port': '0'}).config.listeners).toHaveLength(2)
    expect(load({...files, host: '127.0.0.1', 'tls-host': '127.0.0.2', 'tls-port': '1883'}).config.listeners).toHaveLength(2)
  })

  it('unreadable or unusable files: named by flag, or by file and key', () => {
    const missing = join(certs.dir, 'missing.pem')
    expect(errorOf(() => load({'tls-cert': missing, 'tls-key': certs.serverKey})).message).toBe(`--tls-cert ${JSON.stringify(missing)} cannot be read: no such file (expected a PEM certificate (chain) file)`)
    expect(errorOf(() => load({'tls-cert': certs.serverCert, 'tls-key': certs.clientKey})).message).toBe(`--tls-key ${JSON.stringify(certs.clientKey)} does not belong to the certificate ${JSON.stringify(certs.serverCert)}`)
    expect(errorOf(() => load({'tls-cert': certs.serverCert, 'tls-key': certs.serverKey, 'tls-ca': certs.serverKey})).message).toBe(`--tls-ca ${JSON.stringify(certs.serverKey)} is not usable: it holds no PEM certificate (expected a PEM CA certificate file)`)
    const file = configFile({listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: 0, tls: {cert: certs.serverCert, key: missing}}]})
    const error = errorOf(() => load({config: file}))
    expect(error.message).toBe(`${file}: listeners[1].tls.key = ${JSON.stringify(missing)} cannot be read: no such file (expected a PEM private key file)`)
    expect(error.key).toBe('listeners[1].tls.key')
    // A flag fixing the file's bad key wins.
    expect(load({config: file, 'tls-key': certs.serverKey}).config.listeners[1].tls?.key).toBe(certs.serverKey)
  })
})

describe('the runtime entry takes the TLS flags', () => {
  it('listens on both, says so in broker.json; a bad file is exit 2 with one line', async () => {
    expect(usage()).toContain('--tls-cert FILE')
    const data = join(box.dir(), 'data')
    const lines: string[] = []
    const abort = new AbortController()
    let onListening: (s: BrokerState) => void = () => {}
    const listening = new Promise<BrokerState>((resolve) => (onListening = resolve))
    const argv = ['--host', '127.0.0.1', '--port', '0', '--tls-port', '0', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--data-dir', data]
    const done = runMain(argv, {}, {signal: abort.signal, handleSignals: false, write: (l) => lines.push(l), onListening})
    const state = await listening
    expect(state.listeners.map((l) => [l.host, l.tls])).toEqual([['127.0.0.1', false], ['127.0.0.1', true]])
    const client = await mqtt.connectAsync({protocol: 'mqtts', host: '127.0.0.1', port: state.listeners[1].port, ca: readFileSync(certs.ca), reconnectPeriod: 0})
    await client.endAsync()
    abort.abort()
    expect(await done).toBe(0)

    const bad: string[] = []
    const missing = join(certs.dir, 'nope.pem')
    expect(await runMain(['--tls-cert', missing, '--tls-key', certs.serverKey, '--data-dir', data], {}, {handleSignals: false, write: (l) => bad.push(l)})).toBe(2)
    expect(bad.map((l) => l.trimEnd().replace(/^\[[^\]]+\] /, ''))).toEqual([`ERROR: --tls-cert ${JSON.stringify(missing)} cannot be read: no such file (expected a PEM certificate (chain) file)`])
  })
})

describe('mqttctl start with TLS (real CLI)', () => {
  it('--print-config shows the TLS listener; --json has its files', async () => {
    const args = ['start', '--host', '127.0.0.1', '--tls-port', '9883', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--print-config']
    const {stdout, stderr, exitCode} = await box.cli(args)
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    const rows = stdout.split('\n').map((l) => l.trim().split(/\s{2,}/))
    expect(rows).toContainEqual(['listeners', `127.0.0.1:1883, 127.0.0.1:9883 (tls: cert ${certs.serverCert}, key ${certs.serverKey})`, 'flag'])
    const json = JSON.parse((await box.cli([...args, '--json'])).stdout)
    expect(json.config.listeners).toEqual([
      {host: '127.0.0.1', port: 1883},
      {host: '127.0.0.1', port: 9883, tls: {cert: certs.serverCert, key: certs.serverKey}},
    ])
  })

  it.each([
    [['--tls-cert', 'cert.pem'], 'Error: --tls-cert "cert.pem" needs --tls-key FILE: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)'],
    [['--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], 'Error: --tls-cert "/nonexistent/cert.pem" cannot be read: no such file (expected a PEM certificate (chain) file)'],
    [['--tls-port', 'x'], 'Error: --tls-port "x" is not allowed: expected an integer from 0 to 65,535'],
  ])('%s: one line, exit 2, nothing started', async (args, message) => {
    const dir = box.dir()
    const {stderr, stdout, exitCode} = await box.cli(['start', ...args, '--data-dir', join(dir, 'data')])
    expect(stderr).toBe(message)
    expect(stdout).toBe('')
    expect(exitCode).toBe(2)
    expect(existsSync(join(dir, 'data'))).toBe(false)
  })

  it('serves mutual TLS next to the plain port: mosquitto_sub with a client certificate gets a plain publish', async () => {
    const [port, tlsPort] = [await freePort(), await freePort()]
    const data = join(box.dir(), 'data')
    const child = box.spawn(['start', '--host', '127.0.0.1', '--port', String(port), '--tls-port', String(tlsPort), '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-ca', certs.ca, '--data-dir', data])
    let out = ''
    child.all!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    await waitFor('the TLS listening line', () => out.includes(`Listening on 127.0.0.1:${tlsPort} (TLS)`))
    expect(out).toContain(`Listening on 127.0.0.1:${port}`)

    const pub = await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0})
    await pub.publishAsync('tls/ready', 'ready', {qos: 1, retain: true})
    const sub = mosquittoSub(tlsPort, '5', ['--cafile', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '-t', 'tls/#', '-C', '2', '-W', '10', '-v'])
    try {
      await sub.waitLines(1) // the retained marker: subscribed
      await pub.publishAsync('tls/data', 'over the plain port', {qos: 1})
      const {exitCode, lines} = await sub.done()
      expect(exitCode).toBe(0)
      expect(lines).toEqual(['tls/ready ready', 'tls/data over the plain port'])
    } finally {
      sub.kill()
      await pub.endAsync()
    }
    // Without a client certificate: refused.
    await expect(mqtt.connectAsync({protocol: 'mqtts', host: '127.0.0.1', port: tlsPort, ca: readFileSync(certs.ca), reconnectPeriod: 0, connectTimeout: 5000})).rejects.toThrow()

    child.kill('SIGINT')
    expect((await child).exitCode).toBe(0)
  })
})
