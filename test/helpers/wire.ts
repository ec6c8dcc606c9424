/**
 * Socket-free broker tests: an in-memory duplex pair carries real MQTT bytes (mqtt-packet generate /
 * parse on the client side, the broker's own decoder on the other) into a broker that has no
 * listener. No TCP, no ports; everything else (flush per turn, deadlines, the store) is the real thing.
 *
 *   const wire = await startWire({limits: {maxKeepAlive: 30}}, {clock})
 *   const c = wire.client({version: 5})
 *   await c.connect({clientId: 'a'})
 */
import {Duplex} from 'node:stream'
import type {BrokerImpl} from '../../src/broker/broker.js'
import {type BrokerOptions, createBroker} from '../../src/broker/index.js'
import {silentLogger} from '../../src/broker/log.js'
import {type BrokerConfig, DEFAULT_CONFIG} from '../../src/config/index.js'
import type {BrokerOverrides} from './broker.js'
import {track} from './mqtt.js'
import {RawClient, type RawOptions} from './raw.js'

/** One end of an in-memory connection: what is written to it is read from its peer. */
export class WireEnd extends Duplex {
  peer!: WireEnd
  readonly remoteAddress: string
  readonly remotePort: number

  constructor(remoteAddress: string, remotePort: number) {
    super({allowHalfOpen: false})
    this.remoteAddress = remoteAddress
    this.remotePort = remotePort
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    // Asynchronous like a socket: the peer reads it on a later tick, never inside write().
    setImmediate(() => {
      if (!this.peer.destroyed) this.peer.push(chunk)
      cb()
    })
  }

  override _final(cb: (err?: Error | null) => void): void {
    setImmediate(() => {
      if (!this.peer.destroyed) this.peer.push(null)
      cb()
    })
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A reset: the peer's socket goes too.
    if (!this.peer.destroyed) setImmediate(() => this.peer.destroy())
    cb(err)
  }
}

let nextPort = 40_000

/** Two connected ends: [client side, broker side]. */
export function wirePair(): [WireEnd, WireEnd] {
  const port = nextPort++
  const client = new WireEnd('127.0.0.1', 1883)
  const server = new WireEnd('127.0.0.1', port)
  client.peer = server
  server.peer = client
  return [client, server]
}

export interface Wire {
  broker: BrokerImpl
  /** A new client connected to the broker through an in-memory pair (not yet CONNECTed). */
  client(options?: RawOptions): RawClient
  close(): Promise<void>
}

/** A listener-less broker (tracked for closeAll()) that clients reach through wirePair(). */
export async function startWire(overrides: BrokerOverrides = {}, options: BrokerOptions = {}): Promise<Wire> {
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    listeners: [],
    metrics: {...DEFAULT_CONFIG.metrics, ...overrides.metrics},
    limits: {...DEFAULT_CONFIG.limits, ...overrides.limits},
  }
  const broker = createBroker(config, {logger: silentLogger, ...options}) as BrokerImpl
  await broker.listen()
  const wire: Wire = {
    broker,
    client(clientOptions = {}) {
      const [client, server] = wirePair()
      broker.accept(server)
      return RawClient.over(client, clientOptions)
    },
    close: () => broker.close(),
  }
  track(wire)
  return wire
}
