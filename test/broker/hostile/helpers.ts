/**
 * Hostile-client tests: a broker in-process with the default configuration (plus overrides), a
 * logger that keeps its lines, and raw clients (test/helpers/raw.ts) that send what a hostile client
 * would. Everything on 127.0.0.1, ephemeral ports, closed by closeAll() in afterEach.
 */
import type {IPublishPacket} from 'mqtt-packet'
import {createBroker, type Broker, type Clock} from '../../../src/broker/index.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {type BrokerConfig, type BrokerLimits, DEFAULT_CONFIG} from '../../../src/config/index.js'
import {track} from '../../helpers/mqtt.js'
import {RawClient} from '../../helpers/raw.js'

export type Overrides = Partial<Omit<BrokerConfig, 'limits'>> & {limits?: Partial<BrokerLimits>}

export interface Hostile {
  broker: Broker
  port: number
  lines: string[]
  /** Log lines at error level so far. */
  errors(): string[]
}

export async function hostileBroker(overrides: Overrides = {}, options: {clock?: Clock} = {}): Promise<Hostile> {
  const logger = memoryLogger('warn')
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    listeners: [{host: '127.0.0.1', port: 0}],
    limits: {...DEFAULT_CONFIG.limits, ...overrides.limits},
  }
  const broker = createBroker(config, {logger, clock: options.clock})
  const [addr] = await broker.listen()
  track({close: () => broker.close()})
  return {broker, port: addr.port, lines: logger.lines, errors: () => logger.lines.filter((l) => l.includes('ERROR'))}
}

/** A raw client, CONNECTed (clean start) with `fields`; fails the test unless the CONNACK is a success. */
export async function connected(port: number, version: 3 | 4 | 5, fields: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await RawClient.open(port, {version})
  const ack = await c.connect(fields)
  const code = (ack as {reasonCode?: number; returnCode?: number}).reasonCode ?? (ack as {returnCode?: number}).returnCode
  if (code !== 0) throw new Error(`CONNECT refused: 0x${code?.toString(16)}`)
  return c
}

export async function subscribed(port: number, version: 3 | 4 | 5, filter: string, qos: 0 | 1 | 2 = 0, fields: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await connected(port, version, fields)
  c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos}]})
  await c.next('suback')
  return c
}

export const publishes = (c: RawClient): IPublishPacket[] => c.received('publish') as IPublishPacket[]
