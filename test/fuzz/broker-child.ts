/**
 * The broker under fuzz, as its own process (a crash is an exit the fuzzer sees): createBroker with
 * the default configuration on 127.0.0.1:0, warn/error lines to stderr (the fuzzer counts them),
 * `{"port": N}` on stdout when listening. IPC: "gc" answers {memory, resources, fds} after two gc()
 * runs (start it with --expose-gc; resources counts process.getActiveResourcesInfo() by kind, fds the
 * open file descriptors), "stats" answers {stats}, "expire" ends every offline session ({expired: n}). Stops on SIGTERM or when the parent goes away.
 */
import {readdirSync} from 'node:fs'
import type {BrokerImpl} from '../../src/broker/broker.js'
import {createBroker} from '../../src/broker/index.js'
import {createLogger} from '../../src/broker/log.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'

const broker = createBroker(
  {...DEFAULT_CONFIG, listeners: [{host: '127.0.0.1', port: 0}]},
  {logger: createLogger('warn', (line) => process.stderr.write(line))},
)
const [addr] = await broker.listen()
process.stdout.write(`${JSON.stringify({port: addr.port})}\n`)

const g = globalThis as {gc?: () => void}
process.on('message', (m) => {
  if (m === 'gc') {
    g.gc?.()
    g.gc?.()
    const resources: Record<string, number> = {}
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1
    process.send?.({memory: process.memoryUsage(), resources, fds: readdirSync('/proc/self/fd').length})
  } else if (m === 'expire') {
    // What the clients left behind on purpose (offline sessions and their queues) ends as if their
    // expiry had passed, so what remains after gc is what the broker itself kept.
    const impl = broker as unknown as BrokerImpl
    const orphans = [...impl.store.sessions()].filter((s) => s.disconnectedAt !== 0)
    for (const s of orphans) impl.sessions.end(s)
    process.send?.({expired: orphans.length})
  } else if (m === 'stats') {
    const s = broker.stats
    process.send?.({
      stats: {
        packetsReceived: s.packetsReceived,
        protocolErrors: s.protocolErrors,
        connectionsTotal: s.connectionsTotal,
        connectionsLive: s.connectionsLive,
        sessionsTotal: s.sessionsTotal,
        sessionsOrphan: s.sessionsOrphan,
        subscriptions: s.subscriptions,
        retainedMessages: s.retainedMessages,
        messagesQueued: s.messagesQueued,
        messagesDropped: s.messagesDropped,
      },
    })
  }
})
const stop = (): void => void broker.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('disconnect', stop)
