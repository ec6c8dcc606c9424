/**
 * MQTT over TLS: a plain listener and a TLS listener side by side on one broker (both on port 0),
 * MQTT.js (mqtts://) and Debian's mosquitto_pub/mosquitto_sub (--cafile, -V 311 and 5) across
 * them, mutual TLS, bad certificate files, and peers that fail the handshake.
 */
import {readFileSync} from 'node:fs'
import {connect as netConnect, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'
import mqtt from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {type Broker, createBroker} from '../../../src/broker/index.js'
import {listenTls} from '../../../src/broker/listeners/tls.js'
import {silentLogger} from '../../../src/broker/log.js'
import {type BrokerConfig, DEFAULT_CONFIG, type ListenerConfig} from '../../../src/config/index.js'
import {type MosquittoVersion, mosquittoPub, mosquittoSub, requireMosquittoClients, type RunningSub} from '../../helpers/mosquitto.js'
import {closeAll, collect, connect, track, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {makeCerts, type TestCerts} from './certs.js'

let certs: TestCerts
beforeAll(async () => {
  await requireMosquittoClients()
  certs = await makeCerts()
})
afterAll(() => certs?.cleanup())

const subs: RunningSub[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of subs.splice(0)) s.kill()
  for (const s of sockets.splice(0)) s.destroy()
  await closeAll()
})

interface Started {
  broker: Broker
  plain: number
  tls: number
}

/** A broker with a plain listener and a TLS one (mutual TLS with `mutual`), both on 127.0.0.1:0. */
async function start(options: {mutual?: boolean} = {}): Promise<Started> {
  const listeners: ListenerConfig[] = [
    {host: '127.0.0.1', port: 0},
    {host: '127.0.0.1', port: 0, tls: {cert: certs.serverCert, key: certs.serverKey, ...(options.mutual ? {ca: certs.ca} : {})}},
  ]
  const config: BrokerConfig = {...DEFAULT_CONFIG, listeners}
  const broker = createBroker(config, {logger: silentLogger})
  const addresses = await broker.listen()
  track({close: () => broker.close()})
  expect(addresses.map((a) => a.tls)).toEqual([false, true])
  return {broker, plain: addresses[0].port, tls: addresses[1].port}
}

const mqtts = (port: number, extra: mqtt.IClientOptions = {}) => connect(`mqtts://127.0.0.1:${port}`, {ca: readFileSync(certs.ca), ...extra})

/** mosquitto_pub/sub over TLS: trust the test CA. */
const tlsArgs = () => ['--cafile', certs.ca]

function sub(port: number, version: MosquittoVersion, args: string[]): RunningSub {
  const s = mosquittoSub(port, version, args)
  subs.push(s)
  return s
}

/** Connects an MQTT.js client that is expected to fail; resolves with the error. */
function connectFails(url: string, options: mqtt.IClientOptions): Promise<Error> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {reconnectPeriod: 0, connectTimeout: 5000, ...options})
    track({close: () => client.endAsync(true)})
    client.once('connect', () => resolve(new Error('connected although it should have been refused')))
    client.once('error', (e) => resolve(e))
    client.once('close', () => resolve(new Error('closed')))
  })
}

describe('a plain listener and a TLS listener side by side', () => {
  it('MQTT.js: mqtts:// with the CA subscribes; a publish on the plain port reaches it, and back', async () => {
    const b = await start()
    const topic = uniqueTopic('tls-js')
    const secure = await mqtts(b.tls)
    const plain = await connect(`mqtt://127.0.0.1:${b.plain}`)
    const secureInbox = collect(secure)
    const plainInbox = collect(plain)
    await secure.subscribeAsync(`${topic}/to-tls`, {qos: 1})
    await plain.subscribeAsync(`${topic}/to-plain`, {qos: 1})
    await plain.publishAsync(`${topic}/to-tls`, 'plain -> tls', {qos: 1})
    await secure.publishAsync(`${topic}/to-plain`, 'tls -> plain', {qos: 1})
    expect((await secureInbox.waitCount(1))[0].payload.toString()).toBe('plain -> tls')
    expect((await plainInbox.waitCount(1))[0].payload.toString()).toBe('tls -> plain')
    expect(b.broker.clientCount()).toBe(2)
  })

  it('MQTT.js without the CA refuses the self-made certificate (the broker is not trusted blindly)', async () => {
    const b = await start()
    const error = await connectFails(`mqtts://127.0.0.1:${b.tls}`, {})
    expect(error.message).toMatch(/certificate/i)
    // The broker is unaffected.
    await mqtts(b.tls)
  })

  it.each(['311', '5'] as MosquittoVersion[])('mosquitto_sub --cafile -V %s on the TLS port gets what mosquitto_pub sends on the plain port and over TLS', async (v) => {
    const b = await start()
    const topic = uniqueTopic(`tls-mosq-${v}`)
    // A retained marker tells us the subscription is in place.
    await mosquittoPub(b.plain, v, ['-t', `${topic}/ready`, '-m', 'ready', '-r', '-q', '1'])
    const reader = sub(b.tls, v, [...tlsArgs(), '-t', `${topic}/#`, '-q', '1', '-C', '3', '-W', '10', '-v'])
    await reader.waitLines(1)
    await mosquittoPub(b.plain, v, ['-t', `${topic}/data`, '-m', 'from plain', '-q', '1'])
    await mosquittoPub(b.tls, v, [...tlsArgs(), '-t', `${topic}/data`, '-m', 'from tls', '-q', '1'])
    const {exitCode, lines, stderr} = await reader.done()
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    expect(lines).toEqual([`${topic}/ready ready`, `${topic}/data from plain`, `${topic}/data from tls`])
  })

  it('plain MQTT sent to the TLS port is dropped; connected clients on both ports carry on', async () => {
    const b = await start()
    const topic = uniqueTopic('tls-junk')
    const secure = await mqtts(b.tls)
    const plain = await connect(`mqtt://127.0.0.1:${b.plain}`)
    const inbox = collect(secure)
    await secure.subscribeAsync(topic, {qos: 1})

    // A plain CONNECT (MQTT 3.1.1, client id "x") on the TLS port: not a TLS ClientHello.
    const junk = netConnect({host: '127.0.0.1', port: b.tls})
    sockets.push(junk)
    junk.on('error', () => {})
    junk.write(Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78]))
    await new Promise((resolve) => junk.once('close', resolve))
    // A TLS client that does not trust the server aborts its own handshake.
    const untrusting = tlsConnect({host: '127.0.0.1', port: b.tls, rejectUnauthorized: true})
    sockets.push(untrusting)
    await new Promise((resolve) => untrusting.once('error', resolve))

    await plain.publishAsync(topic, 'still here', {qos: 1})
    expect((await inbox.waitCount(1))[0].payload.toString()).toBe('still here')
    expect(b.broker.clientCount()).toBe(2)
    await mqtts(b.tls) // and new TLS clients are accepted
  })

  it('close() does not wait for a peer stuck in the TLS handshake', async () => {
    const b = await start()
    const silent = netConnect({host: '127.0.0.1', port: b.tls})
    sockets.push(silent)
    silent.on('error', () => {})
    await new Promise((resolve) => silent.once('connect', resolve))
    const closed = new Promise((resolve) => silent.once('close', resolve))
    await b.broker.close() // would wait for the handshake timeout without the listener's cleanup
    await closed
  })
})

describe('listenTls', () => {
  it('drops a peer that never completes the handshake once the handshake timeout passes', async () => {
    const accepted: Socket[] = []
    const {server, port} = await listenTls({host: '127.0.0.1', port: 0, tls: {cert: certs.serverCert, key: certs.serverKey}}, (s) => accepted.push(s), {handshakeTimeoutMs: 200})
    track({close: () => new Promise<void>((resolve) => server.close(() => resolve()))})
    const silent = netConnect({host: '127.0.0.1', port})
    sockets.push(silent)
    silent.on('error', () => {})
    await new Promise((resolve) => silent.once('close', resolve)) // the broker's side closed it
    expect(accepted).toEqual([])
  })

  it('names the listener as told in errors', async () => {
    await expect(listenTls({host: '127.0.0.1', port: 0, tls: {cert: certs.serverCert, key: `${certs.dir}/nope.key`}}, () => {}, {where: 'listeners[1].tls'})).rejects.toThrow(
      `listeners[1].tls.key = "${certs.dir}/nope.key" cannot be read: no such file (expected a PEM private key file)`,
    )
  })
})

describe('mutual TLS (listener tls.ca set)', () => {
  it('MQTT.js: without a client certificate refused, with one from the CA accepted, from another CA refused', async () => {
    const b = await start({mutual: true})
    const url = `mqtts://127.0.0.1:${b.tls}`
    const ca = readFileSync(certs.ca)
    expect((await connectFails(url, {ca})).message).not.toBe('connected although it should have been refused')
    expect((await connectFails(url, {ca, cert: readFileSync(certs.strangerCert), key: readFileSync(certs.strangerKey)})).message).not.toBe('connected although it should have been refused')
    const client = await mqtts(b.tls, {cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey)})
    const topic = uniqueTopic('mtls')
    const inbox = collect(client)
    await client.subscribeAsync(topic, {qos: 1})
    const plain = await connect(`mqtt://127.0.0.1:${b.plain}`)
    await plain.publishAsync(topic, 'hello client-1', {qos: 1})
    expect((await inbox.waitCount(1))[0].payload.toString()).toBe('hello client-1')
    await waitFor(() => b.broker.clientCount() === 2, 5000, 'exactly the two accepted clients')
  })

  it('mosquitto_pub: refused without --cert/--key, accepted with them', async () => {
    const b = await start({mutual: true})
    const topic = uniqueTopic('mtls-mosq')
    const listener = await connect(`mqtt://127.0.0.1:${b.plain}`)
    const inbox = collect(listener)
    await listener.subscribeAsync(topic, {qos: 1})
    await expect(mosquittoPub(b.tls, '311', [...tlsArgs(), '-t', topic, '-m', 'no cert', '-q', '1'])).rejects.toThrow(/exited/)
    await mosquittoPub(b.tls, '5', [...tlsArgs(), '--cert', certs.clientCert, '--key', certs.clientKey, '-t', topic, '-m', 'with cert', '-q', '1'])
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe('with cert')
    expect(inbox.messages.map((m) => m.payload.toString())).toEqual(['with cert'])
  })
})

describe('bad certificate files', () => {
  async function listenError(tls: {cert: string; key: string; ca?: string}): Promise<Error> {
    const broker = createBroker({...DEFAULT_CONFIG, listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: 0, tls}]}, {logger: silentLogger})
    track({close: () => broker.close()})
    try {
      await broker.listen()
    } catch (error) {
      return error as Error
    }
    throw new Error('listen() resolved although a TLS file is bad')
  }

  it('a missing file: listen() rejects with one line naming the setting and the file', async () => {
    const error = await listenError({cert: `${certs.dir}/missing.pem`, key: certs.serverKey})
    expect(error.message).toBe(`TLS listener 127.0.0.1:0: tls.cert = ${JSON.stringify(`${certs.dir}/missing.pem`)} cannot be read: no such file (expected a PEM certificate (chain) file)`)
  })

  it('a key that is not a key, a key of another certificate, a CA that is a directory', async () => {
    expect((await listenError({cert: certs.serverCert, key: certs.serverCert})).message).toMatch(
      new RegExp(`^TLS listener 127\\.0\\.0\\.1:0: tls\\.key = "${certs.serverCert}" is not usable: .+ \\(expected a PEM private key file\\)$`),
    )
    expect((await listenError({cert: certs.serverCert, key: certs.clientKey})).message).toBe(
      `TLS listener 127.0.0.1:0: tls.key = "${certs.clientKey}" does not belong to the certificate "${certs.serverCert}"`,
    )
    expect((await listenError({cert: certs.serverCert, key: certs.serverKey, ca: certs.dir})).message).toBe(
      `TLS listener 127.0.0.1:0: tls.ca = "${certs.dir}" cannot be read: it is a directory (expected a PEM CA certificate file)`,
    )
  })
})
