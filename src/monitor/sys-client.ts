/**
 * Reads a broker's statistics over MQTT: subscribes to `$SYS/#` with MQTT.js and turns each burst of
 * $SYS messages (one broker statistics tick, or the retained replay after SUBSCRIBE) into a
 * MonitorSnapshot. Works against Mosquitto too (its topics share our names).
 */
import {EventEmitter} from 'node:events'
import mqtt, {type MqttClient} from 'mqtt'
import {MqttctlError} from '../errors.js'
import {type MonitorSnapshot, snapshotFromTopics, tickKey} from './snapshot.js'

export interface SysClientOptions {
  url: string
  username?: string
  password?: string
  clientId?: string
  /** Connect + first snapshot must happen within this, ms. */
  timeoutMs: number
  /** Quiet time that ends a burst of $SYS messages, ms. */
  settleMs?: number
}

/** The broker cannot be reached or sends no statistics: exit 1. */
export class MonitorError extends MqttctlError {
  constructor(message: string) {
    super(message, 1)
  }
}

export class SysClient extends EventEmitter<{snapshot: [MonitorSnapshot]; error: [Error]}> {
  readonly #client: MqttClient
  readonly #topics = new Map<string, string>()
  readonly #settleMs: number
  #settle: NodeJS.Timeout | undefined
  #lastKey: string | undefined
  #latest: MonitorSnapshot | undefined
  #closing = false

  private constructor(client: MqttClient, settleMs: number) {
    super()
    this.#client = client
    this.#settleMs = settleMs
    client.on('message', (topic, payload) => {
      this.#topics.set(topic, payload.toString())
      clearTimeout(this.#settle)
      this.#settle = setTimeout(() => this.#flush(), this.#settleMs)
    })
    // Before connect() resolves its own handler reports errors; afterwards, whoever listens.
    client.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error)
    })
    client.on('close', () => {
      if (this.listenerCount('error') > 0 && !this.#closing) this.emit('error', new MonitorError('connection to the broker closed'))
    })
  }

  /** Connects, subscribes and waits for the first complete snapshot, all within options.timeoutMs. */
  static async connect(options: SysClientOptions): Promise<SysClient> {
    const seconds = options.timeoutMs / 1000
    const client = mqtt.connect(options.url, {
      username: options.username,
      password: options.password,
      clientId: options.clientId ?? `mqttctl-monitor-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: 4,
      clean: true,
      connectTimeout: options.timeoutMs,
      reconnectPeriod: 0,
      keepalive: 30,
    })
    const sys = new SysClient(client, options.settleMs ?? 100)
    let timer: NodeJS.Timeout | undefined
    try {
      return await new Promise<SysClient>((resolve, reject) => {
        let stage = 'connect'
        timer = setTimeout(() => {
          reject(
            new MonitorError(
              stage === 'connect'
                ? `cannot reach the broker at ${options.url} within ${seconds} s`
                : `connected to ${options.url} but no $SYS statistics arrived within ${seconds} s (does the broker publish $SYS, and may this client subscribe to it?)`,
            ),
          )
        }, options.timeoutMs)
        const fail = (error: Error & {code?: string | number}) =>
          reject(new MonitorError(`cannot reach the broker at ${options.url}: ${describe(error)}`))
        client.once('error', fail)
        client.once('close', () => {
          if (stage === 'connect') fail(new Error('connection closed'))
        })
        client.once('connect', () => {
          stage = 'subscribe'
          client.off('error', fail)
          client.subscribe('$SYS/#', {qos: 0}, (error, granted) => {
            if (error) return reject(new MonitorError(`subscribing to $SYS/# failed: ${error.message}`))
            if (granted?.some((g) => g.qos === 128)) return reject(new MonitorError('the broker refused the $SYS/# subscription'))
            stage = 'wait'
          })
          sys.once('snapshot', () => resolve(sys))
        })
      })
    } catch (error) {
      await sys.close()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  /** The most recent snapshot. */
  latest(): MonitorSnapshot | undefined {
    return this.#latest
  }

  async close(): Promise<void> {
    this.#closing = true
    clearTimeout(this.#settle)
    await new Promise<void>((resolve) => this.#client.end(true, {}, () => resolve()))
  }

  #flush(): void {
    const key = tickKey(this.#topics)
    if (key === undefined || key === this.#lastKey) return
    this.#lastKey = key
    this.#latest = snapshotFromTopics(this.#topics, Date.now())
    this.emit('snapshot', this.#latest)
  }
}

function describe(error: Error & {code?: string | number}): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused (is it running, on that port?)'
  if (error.code === 'ENOTFOUND') return 'host not found'
  if (typeof error.code === 'number' || /Not authorized|Bad username/i.test(error.message)) return `refused: ${error.message}`
  return error.message
}
