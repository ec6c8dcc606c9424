/**
 * The broker the conformance suite runs against: our broker in-process (default), or, with
 * MQTT_CONFORMANCE_TARGET=mosquitto, a Mosquitto child process configured as closely as its options
 * allow. The Mosquitto target only checks the suite itself against a reference broker; tests that
 * read broker.stats or use features Mosquitto lacks (denySubscribe, connectTimeout) fail there.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Broker} from '../../../src/broker/index.js'
import {DEFAULT_CONFIG} from '../../../src/config/index.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import type {BrokerOverrides} from '../../helpers/broker.js'
import {track} from '../../helpers/mqtt.js'

export interface Target {
  broker: Broker
  port: number
  url: string
  close(): Promise<void>
  /**
   * Lets `ms` of broker time pass: our broker runs on a ManualClock (advanced at once, no sleeping);
   * Mosquitto's clock is the real one (a real sleep).
   */
  elapse(ms: number): Promise<void>
  /** Is `clientId` connected, as the broker sees it (undefined on the Mosquitto target: it cannot tell). */
  hasClient(clientId: string): boolean | undefined
}

export const TARGET = process.env.MQTT_CONFORMANCE_TARGET === 'mosquitto' ? 'mosquitto' : 'mqttctl'

/** Starts a broker for one test (closed by closeAll in afterEach). */
export async function startTarget(overrides: BrokerOverrides = {}): Promise<Target> {
  return track(await startSharedTarget(overrides))
}

/** Starts a broker shared by a file (close it in afterAll). */
export async function startSharedTarget(overrides: BrokerOverrides = {}): Promise<Target> {
  if (TARGET === 'mosquitto') return startMosquitto(overrides)
  // Imported lazily so the Mosquitto target works while src/broker is incomplete.
  const {startBroker} = await import('../../helpers/broker.js')
  const {ManualClock} = await import('../../helpers/clock.js')
  const clock = new ManualClock()
  const started = await startBroker(overrides, {clock})
  const clients = (started.broker as unknown as {clients: {has(id: string): boolean}}).clients
  return {
    ...started,
    async elapse(ms) {
      clock.advance(ms)
      await new Promise((resolve) => setImmediate(resolve)) // what the timers wrote goes out
    },
    hasClient: (clientId) => clients.has(clientId),
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startMosquitto(overrides: BrokerOverrides): Promise<Target> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-conf-'))
  const limits = {...DEFAULT_CONFIG.limits, ...overrides.limits}
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false']
  if (overrides.maxConnections) lines.push(`max_connections ${overrides.maxConnections}`)
  if (overrides.limits?.maxKeepAlive !== undefined) lines.push(`max_keepalive ${limits.maxKeepAlive}`)
  if (overrides.limits?.maxPacketSize !== undefined) lines.push(`max_packet_size ${limits.maxPacketSize}`)
  if (overrides.limits?.maxQueuedMessages !== undefined) lines.push(`max_queued_messages ${limits.maxQueuedMessages}`)
  if (overrides.limits?.maxQueuedBytes !== undefined) lines.push(`max_queued_bytes ${limits.maxQueuedBytes}`)
  if (overrides.limits?.topicAliasMaximum !== undefined) lines.push(`max_topic_alias ${limits.topicAliasMaximum}`)
  if (overrides.limits?.receiveMaximum !== undefined) lines.push(`max_inflight_messages ${limits.receiveMaximum}`)
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, lines.join('\n') + '\n')
  const child = spawn('mosquitto', ['-c', conf], {stdio: 'ignore'})
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    await waitForPort(port)
  } catch (err) {
    await stop() // no mosquitto left running, no temp dir left behind
    throw err
  }
  const stats = new BrokerStats()
  const broker = {
    config: {...DEFAULT_CONFIG, ...overrides, limits},
    stats,
    logger: undefined,
    listen: async () => [{host: '127.0.0.1', port, tls: false}],
    close: async () => {},
    publish: () => {
      throw new Error('broker.publish is not available on the mosquitto target')
    },
    clientCount: () => 0,
  } as unknown as Broker
  return {
    broker,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    close: stop,
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    hasClient: () => undefined,
  }
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({host: '127.0.0.1', port})
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`mosquitto did not listen on ${port}`)
}
