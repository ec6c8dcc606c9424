/**
 * Broker nodes joined through NATS for the cluster tests: in-process ClusterBrokers on 127.0.0.1:0.
 * Always closed by closeAll() (tracked).
 */
import {type BrokerConfig, type BrokerLimits, DEFAULT_CONFIG} from '../../src/config/index.js'
import type {Clock} from '../../src/broker/clock.js'
import {type ClusterBroker, createClusterBroker} from '../../src/broker/cluster/index.js'
import {type Logger, silentLogger} from '../../src/broker/log.js'
import type {Store} from '../../src/broker/persistence/store.js'
import {track} from './mqtt.js'

export interface StartedNode {
  broker: ClusterBroker
  port: number
  url: string
  close(): Promise<void>
}

export async function startNode(
  servers: string[],
  options: {name?: string; prefix?: string; replicas?: number; limits?: Partial<BrokerLimits>; clock?: Clock; logger?: Logger; config?: Partial<BrokerConfig>; store?: Store} = {},
): Promise<StartedNode> {
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...options.config,
    listeners: [{host: '127.0.0.1', port: 0}],
    limits: {...DEFAULT_CONFIG.limits, ...options.limits},
    cluster: {...DEFAULT_CONFIG.cluster, servers, subjectPrefix: options.prefix ?? 'mqtt', nodeName: options.name, replicas: options.replicas ?? 1},
  }
  const broker = createClusterBroker(config, {logger: options.logger ?? silentLogger, clock: options.clock, store: options.store})
  const [addr] = await broker.listen()
  let closed = false
  const node: StartedNode = {
    broker,
    port: addr.port,
    url: `mqtt://127.0.0.1:${addr.port}`,
    async close() {
      if (closed) return
      closed = true
      await broker.close()
    },
  }
  track(node)
  await broker.node.ready()
  return node
}
