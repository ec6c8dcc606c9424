/**
 * A bare broker process for the probes: createBroker on 127.0.0.1:0 with the defaults (limits raised
 * for load), prints {"port": N} on stdout, and runs gc() when the parent sends "gc" over IPC (start
 * with --expose-gc). Stops on SIGTERM/SIGINT or when the parent goes away.
 */
import {createBroker} from '../../src/broker/index.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'

const broker = createBroker({
  ...DEFAULT_CONFIG,
  maxConnections: 100_000,
  listeners: [{host: '127.0.0.1', port: Number(process.env.PROBE_PORT ?? 0)}],
  limits: {...DEFAULT_CONFIG.limits, maxQueuedBytes: 64 * 1024 * 1024},
})
const [addr] = await broker.listen()
process.stdout.write(`${JSON.stringify({port: addr.port})}\n`)

const g = globalThis as {gc?: () => void}
process.on('message', async (m) => {
  if (m === 'gc') {
    g.gc?.()
    g.gc?.()
    const v8 = await import('node:v8')
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1024)]))
    process.send?.({memory: process.memoryUsage(), spaces})
  }
})
const stop = (): void => void broker.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)

// "snap:<path>": write a heap snapshot (bench/probe/heap-top.ts summarises it).
process.on('message', (m) => {
  if (typeof m === 'string' && m.startsWith('snap:')) {
    void import('node:v8').then((v8) => {
      v8.writeHeapSnapshot(m.slice(5))
      process.send?.({snap: true})
    })
  }
})

// "stats": message counters, to cross-check what the probe clients count.
process.on('message', (m) => {
  if (m === 'stats') {
    const s = broker.stats
    process.send?.({stats: {received: s.messagesReceived, sent: s.messagesSent, dropped: s.messagesDropped, bytesReceived: s.bytesReceived, bytesSent: s.bytesSent}})
  }
})
