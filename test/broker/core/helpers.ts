/** Small helpers for the core tests: MQTT.js clients that are always closed, and message waiting. */
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'

export class Clients {
  readonly #all: MqttClient[] = []

  async connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect(url, {reconnectPeriod: 0, connectTimeout: 5000, ...opts})
    this.#all.push(client)
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
      client.once('close', () => reject(new Error('closed before connect')))
    })
    return client
  }

  /** A client whose connect is expected to fail; resolves with the error or close. */
  async refused(url: string, opts: IClientOptions = {}): Promise<Error | undefined> {
    const client = mqtt.connect(url, {reconnectPeriod: 0, connectTimeout: 5000, ...opts})
    this.#all.push(client)
    return new Promise((resolve) => {
      client.once('error', (err) => resolve(err))
      client.once('close', () => resolve(undefined))
    })
  }

  track(client: MqttClient): MqttClient {
    this.#all.push(client)
    return client
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#all.splice(0).map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))))
  }
}

export interface Received {
  topic: string
  payload: string
  packet: mqtt.IPublishPacket
}

/** Collects messages; next(n) waits for the n-th. */
export function collect(client: MqttClient): {messages: Received[]; next(count?: number): Promise<Received[]>} {
  const messages: Received[] = []
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({topic, payload: payload.toString(), packet})
    for (const w of waiters.splice(0)) w()
  })
  return {
    messages,
    async next(count = messages.length + 1) {
      while (messages.length < count) await new Promise<void>((r) => waiters.push(r))
      return messages
    },
  }
}

export function once<T = unknown>(emitter: {once(event: string, fn: (...args: never[]) => void): unknown}, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, ((...args: unknown[]) => resolve(args[0] as T)) as never))
}
