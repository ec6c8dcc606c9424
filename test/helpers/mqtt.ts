/**
 * MQTT.js promise helpers for end-to-end tests: connect with sane test defaults, collect messages,
 * wait for events or conditions with a bounded timeout, and close everything a test opened.
 *
 *   afterEach(closeAll)
 *   const sub = await connect(url, {protocolVersion: 5})
 *   const inbox = collect(sub)
 *   await sub.subscribeAsync('t/#', {qos: 1})
 *   await inbox.waitCount(1)
 */
import type {EventEmitter} from 'node:events'
import mqtt, {type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient} from 'mqtt'

export type {MqttClient} from 'mqtt'

/** Anything a test opens and must close: MQTT.js clients, raw sockets, brokers. */
export interface Closable {
  close(): Promise<void>
}

const open = new Set<Closable>()

/** Registers something for closeAll(); returns it. */
export function track<T extends Closable>(item: T): T {
  open.add(item)
  return item
}

/** An MQTT.js client made by the test itself (mqtt.connect), closed by closeAll(). */
export function trackClient(client: MqttClient): MqttClient {
  track({close: () => client.endAsync(true)})
  return client
}

/** Closes everything opened since the last call (clients first, then brokers). Use in afterEach. */
export async function closeAll(): Promise<void> {
  const items = [...open].reverse()
  open.clear()
  for (const item of items) {
    try {
      await item.close()
    } catch {
      // Already closed or broken on purpose by the test.
    }
  }
}

/**
 * Resolves with predicate()'s value once it is truthy (the predicate may be async); polls every 5 ms;
 * rejects after timeoutMs naming `what`. The one wait-for-a-condition helper of the suite.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Waits for one `event` on `emitter`; rejects after timeoutMs. Resolves with the listener's arguments. */
export function nextEvent<T extends unknown[] = unknown[]>(source: EventEmitter | MqttClient, event: string, timeoutMs = 5000): Promise<T> {
  const emitter = source as EventEmitter
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`))
    }, timeoutMs)
    const listener = (...args: unknown[]) => {
      clearTimeout(timer)
      resolve(args as T)
    }
    emitter.once(event, listener)
  })
}

/** A plain delay, only for waiting out a timer when no event exists (expiry, will delay). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

let idCounter = 0
/** A short unique client id (≤ 23 characters, valid for MQTT 3.1). */
export function clientId(prefix = 'c'): string {
  idCounter += 1
  return `${prefix.slice(0, 8)}-${process.pid % 10_000}-${idCounter}-${Math.floor(Math.random() * 1e4)}`.slice(0, 23)
}

let topicCounter = 0
/** A unique topic prefix so tests sharing a broker never see each other's messages. */
export function uniqueTopic(prefix = 't'): string {
  topicCounter += 1
  return `${prefix}/${process.pid}-${topicCounter}-${Math.floor(Math.random() * 1e6)}`
}

export type Version = 3 | 4 | 5
export const VERSIONS: Version[] = [3, 4, 5]
export const VERSION_NAME: Record<Version, string> = {3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5.0'}

/** MQTT.js options for a protocol version (3.1 needs the MQIsdp protocol name). */
export function versionOptions(version: Version): IClientOptions {
  return version === 3 ? {protocolVersion: 3, protocolId: 'MQIsdp'} : {protocolVersion: version}
}

/**
 * Connects an MQTT.js client and waits for CONNACK. No automatic reconnect; tracked for closeAll().
 * Rejects with the CONNACK error (e.g. "Connection refused") when the broker refuses.
 */
export async function connect(url: string, options: IClientOptions & {version?: Version} = {}): Promise<MqttClient> {
  const {version, ...rest} = options
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(version ? versionOptions(version) : {}),
    ...rest,
  })
  track({close: () => client.endAsync(true)})
  // Record messages from the start: a resumed session's queue can arrive right after CONNACK.
  inboxes.set(client, createInbox(client))
  await new Promise<void>((resolve, reject) => {
    const onConnect = (connack: IConnackPacket) => {
      connacks.set(client, connack)
      cleanup()
      resolve()
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onClose = () => {
      cleanup()
      reject(new Error('connection closed before CONNACK'))
    }
    const cleanup = () => {
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
    }
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
  // Keep later protocol errors from becoming unhandled 'error' events.
  client.on('error', () => {})
  return client
}

const connacks = new WeakMap<MqttClient, IConnackPacket>()

/** The CONNACK the client received from connect(). */
export function connackOf(client: MqttClient): IConnackPacket {
  const connack = connacks.get(client)
  if (!connack) throw new Error('client was not connected with connect()')
  return connack
}

export interface Received {
  topic: string
  payload: Buffer
  packet: IPublishPacket
}

export interface Inbox {
  readonly messages: Received[]
  /** Payloads as strings, in arrival order. */
  payloads(): string[]
  /** Waits until at least n messages arrived. */
  waitCount(n: number, timeoutMs?: number): Promise<Received[]>
  /** Waits for a message whose payload equals `payload`; returns it. */
  waitPayload(payload: string, timeoutMs?: number): Promise<Received>
}

const inboxes = new WeakMap<MqttClient, Inbox>()

/** Every message the client received since connect() (or from now on, for other clients). */
export function collect(client: MqttClient): Inbox {
  let inbox = inboxes.get(client)
  if (!inbox) {
    inbox = createInbox(client)
    inboxes.set(client, inbox)
  }
  return inbox
}

function createInbox(client: MqttClient): Inbox {
  const messages: Received[] = []
  client.on('message', (topic, payload, packet) => {
    messages.push({topic, payload, packet})
  })
  return {
    messages,
    payloads: () => messages.map((m) => m.payload.toString()),
    async waitCount(n, timeoutMs = 5000) {
      await waitFor(() => messages.length >= n, timeoutMs, `${n} message(s) (got ${messages.length})`)
      return messages
    },
    async waitPayload(payload, timeoutMs = 5000) {
      let found: Received | undefined
      await waitFor(
        () => (found = messages.find((m) => m.payload.toString() === payload)) !== undefined,
        timeoutMs,
        `message "${payload}" (got ${JSON.stringify(messages.map((m) => m.payload.toString()))})`,
      )
      return found as Received
    },
  }
}

/** Resolves when the client's connection closes (MQTT.js 'close'). */
export function waitClose(client: MqttClient, timeoutMs = 5000): Promise<unknown[]> {
  if (!client.connected && client.disconnected) return Promise.resolve([])
  return nextEvent(client as unknown as EventEmitter, 'close', timeoutMs)
}
