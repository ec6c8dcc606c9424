/**
 * Shared by the durable-store tests through the real CLI (durable-*.test.ts): a broker started with
 * `mqttctl start --detach` on a data directory (the durable store is the default), MQTT.js clients
 * on it, persistent-session options per protocol version.
 */
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import {afterAll} from 'vitest'
import {freePort, Sandbox} from './helpers.js'

export {freePort}

/** A Sandbox cleaned up (every broker it started killed, temp dirs removed) after the file's tests. */
export function durableBox(): Sandbox {
  const box = new Sandbox()
  afterAll(() => box.cleanup())
  return box
}

/** `mqttctl start --detach` on `data` and 127.0.0.1:`port`; returns the broker's pid (tracked for cleanup). */
export async function startDetached(box: Sandbox, data: string, port: number, ...extra: string[]): Promise<number> {
  const r = await box.cli(['start', '--detach', '--json', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, ...extra])
  if (r.exitCode !== 0) throw new Error(`start failed (${r.exitCode}): ${r.stderr}`)
  const pid = (JSON.parse(r.stdout) as {pid: number}).pid
  box.track(pid)
  return pid
}

/** Connected (or rejected with the error); no reconnects. */
export function connect(port: number, o: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...o})
    c.once('connect', () => resolve(c))
    c.once('error', (e) => {
      c.end(true)
      reject(e)
    })
  })
}

/** Ends the client: with DISCONNECT, or `force`d (the socket just closes, nothing waits for acks). */
export function end(c: MqttClient, force = false): Promise<void> {
  return new Promise((r) => c.end(force, {}, () => r()))
}

/** A session that outlives its connection: 3.1.1 clean session 0, 5.0 session expiry `expiry` s. */
export function persistent(version: 4 | 5, clientId?: string, expiry = 3600): IClientOptions {
  const o: IClientOptions = version === 5 ? {protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: expiry}} : {protocolVersion: 4, clean: false}
  if (clientId !== undefined) o.clientId = clientId
  return o
}

/** The same for the raw test client's CONNECT. */
export function rawPersistent(version: 4 | 5, clientId: string, expiry = 3600): {clientId: string; clean: false; properties?: {sessionExpiryInterval: number}} {
  return version === 5 ? {clientId, clean: false, properties: {sessionExpiryInterval: expiry}} : {clientId, clean: false}
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Polls `done` every 20 ms until it is true or `ms` have passed. */
export async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await sleep(20)
}
