/**
 * A broker process for the cluster probe: a cluster node joined through the NATS URL(s) in
 * PROBE_NATS (or a plain single-process broker without it), on 127.0.0.1:0, limits raised for load.
 * Prints {"port": N} once listening (and, for a node, once its NATS link is up). Stops on
 * SIGTERM/SIGINT or when the parent goes away.
 */
import {createBroker} from '../../src/broker/index.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'

const servers = (process.env.PROBE_NATS ?? '').split(',').filter(Boolean)
const config = {
  ...DEFAULT_CONFIG,
  maxConnections: 100_000,
  listeners: [{host: '127.0.0.1', port: 0}],
  limits: {...DEFAULT_CONFIG.limits, maxQueuedBytes: 64 * 1024 * 1024},
  cluster: {...DEFAULT_CONFIG.cluster, servers, subjectPrefix: process.env.PROBE_PREFIX ?? 'probe', nodeName: process.env.PROBE_NAME},
}
let close: () => Promise<void>
let port: number
if (servers.length > 0) {
  const {createClusterBroker} = await import('../../src/broker/cluster/index.js')
  const broker = createClusterBroker(config)
  ;[{port}] = await broker.listen()
  await broker.node.ready()
  close = () => broker.close()
  process.on('message', (m) => {
    if (m === 'stats') process.send?.({stats: {received: broker.stats.messagesReceived, sent: broker.stats.messagesSent, cluster: {...broker.node.stats}}})
  })
} else {
  const broker = createBroker(config)
  ;[{port}] = await broker.listen()
  close = () => broker.close()
  process.on('message', (m) => {
    if (m === 'stats') process.send?.({stats: {received: broker.stats.messagesReceived, sent: broker.stats.messagesSent}})
  })
}
process.stdout.write(`${JSON.stringify({port})}\n`)
const stop = (): void => void close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)
