/**
 * `mqttctl bench` (real CLI) against our broker's TLS listener on loopback: --tls --ca and
 * mqtts:// URLs, and a client certificate for mutual TLS. Counts only, never speed.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {type Broker, createBroker} from '../../src/broker/index.js'
import {silentLogger} from '../../src/broker/log.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {makeCerts, type TestCerts} from '../broker/tls/certs.js'
import {Sandbox} from '../control/helpers.js'

let certs: TestCerts
beforeAll(async () => {
  certs = await makeCerts()
})
afterAll(() => certs?.cleanup())

const box = new Sandbox()
const brokers: Broker[] = []
afterEach(async () => {
  await box.cleanup()
  for (const b of brokers.splice(0)) await b.close()
})

/** Plain + TLS listeners on 127.0.0.1:0; returns the TLS port. */
async function tlsBroker(mutual = false): Promise<number> {
  const tls = {cert: certs.serverCert, key: certs.serverKey, ...(mutual ? {ca: certs.ca} : {})}
  const broker = createBroker({...DEFAULT_CONFIG, listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: 0, tls}]}, {logger: silentLogger})
  brokers.push(broker)
  const [, secure] = await broker.listen()
  return secure.port
}

async function bench(args: string[]) {
  const {stdout, stderr, exitCode} = await box.cli(['bench', ...args, '--json'])
  expect(stderr).toBe('')
  expect(exitCode).toBe(0)
  return JSON.parse(stdout)
}

describe('bench over TLS', () => {
  it('conn --tls --ca and pubsub --url mqtts:// --ca: every connection up, every message through', async () => {
    const port = await tlsBroker()
    const conn = await bench(['conn', '--tls', '--ca', certs.ca, '-p', String(port), '-c', '20', '--duration', '1'])
    expect(conn.target).toBe(`mqtts://127.0.0.1:${port}`)
    expect(conn.connect).toMatchObject({attempted: 20, connected: 20, failed: 0})

    const pubsub = await bench(['pubsub', '--url', `mqtts://127.0.0.1:${port}`, '--ca', certs.ca, '-c', '3', '--count', '600', '-t', 'tls/bench/%i'])
    expect(pubsub.connect).toMatchObject({connected: 6, failed: 0})
    expect(pubsub.messages).toMatchObject({sent: 600, received: 600, lost: 0})
  })

  it('pub with a client certificate against mutual TLS', async () => {
    const port = await tlsBroker(true)
    const pub = await bench(['pub', '--tls', '--ca', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '-p', String(port), '-c', '2', '--count', '200'])
    expect(pub.connect).toMatchObject({connected: 2, failed: 0})
    expect(pub.messages.sent).toBe(200)

    // Without the client certificate the broker refuses: counted as failed connections, exit 1.
    const refused = await box.cli(['bench', 'conn', '--tls', '--ca', certs.ca, '-p', String(port), '-c', '2', '--duration', '1', '--json'])
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout).connect).toMatchObject({connected: 0, failed: 2})
  })
})
