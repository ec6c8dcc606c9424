/**
 * Starts a broker in-process on 127.0.0.1:0 for tests. Always call close() (afterEach).
 */
import {type BrokerConfig, type BrokerLimits, DEFAULT_CONFIG} from '../../src/config/index.js'
import {type Broker, type BrokerOptions, createBroker} from '../../src/broker/index.js'
import {silentLogger} from '../../src/broker/log.js'

export type BrokerOverrides = Partial<Omit<BrokerConfig, 'limits'>> & {limits?: Partial<BrokerLimits>}

export interface StartedBroker {
  broker: Broker
  port: number
  url: string
  close(): Promise<void>
}

export async function startBroker(
  overrides: BrokerOverrides = {},
  options: BrokerOptions = {},
): Promise<StartedBroker> {
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    listeners: overrides.listeners ?? [{host: '127.0.0.1', port: 0}],
    metrics: {...DEFAULT_CONFIG.metrics, ...overrides.metrics},
    limits: {...DEFAULT_CONFIG.limits, ...overrides.limits},
  }
  const broker = createBroker(config, {...options, logger: options.logger ?? silentLogger})
  const [addr] = await broker.listen()
  let closed = false
  return {
    broker,
    port: addr.port,
    url: `mqtt://127.0.0.1:${addr.port}`,
    async close() {
      if (closed) return
      closed = true
      await broker.close()
    },
  }
}
