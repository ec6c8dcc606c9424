/**
 * nats-server.conf for each NATS server a scale-out build names (templates/nats/nats-server.conf.tpl):
 * client port, JetStream store and size, max_payload, and with several servers the NATS cluster block
 * whose routes list every server. Pure: the same servers give the same files.
 */
import {formatBytes} from '../cli/render.js'
import {renderTemplate} from '../tune/template.js'

/** One NATS server: the host and client port the brokers connect to, and its route port. */
export interface NatsServer {
  /** server_name: nats-1, nats-2, ... */
  name: string
  host: string
  port: number
  /** Port of the NATS cluster's routes (6222 by default). */
  clusterPort: number
}

export interface NatsConfOptions {
  servers: readonly NatsServer[]
  /** Interface the server listens on (0.0.0.0: every interface). */
  listenHost: string
  storeDir: string
  maxPayloadBytes: number
  maxFileStoreBytes: number
  /** cluster { name }: the NATS cluster's name. */
  clusterName: string
}

const MiB = 2 ** 20

/** A byte count as nats-server reads it: whole MB or GB when exact (nats-server's suffixes are powers of 1,024). */
export function natsSize(bytes: number): string {
  if (bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)}GB`
  if (bytes % MiB === 0) return `${bytes / MiB}MB`
  return String(bytes)
}

/** [ip-v6] in host:port, as nats-server and URLs want it. */
const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`

function clusterBlock(o: NatsConfOptions, self: NatsServer): string {
  if (o.servers.length === 1) return ''
  const routes = o.servers.map((s) => `    "nats-route://${hostPort(s.host, s.clusterPort)}"`).join('\n')
  return `
# The NATS cluster: routes to every server (this one's own route is ignored), so any one may restart.
cluster {
  name: ${o.clusterName}
  listen: "${hostPort(o.listenHost, self.clusterPort)}"
  routes: [
${routes}
  ]
}
`
}

/** The file name of server `s` in the layout (nats/nats-1.conf). */
export const natsConfName = (s: NatsServer) => `${s.name}.conf`

export function natsServerConf(o: NatsConfOptions, self: NatsServer): string {
  return renderTemplate('nats/nats-server.conf.tpl', {
    name: self.name,
    count: String(o.servers.length),
    host: self.host,
    file: natsConfName(self),
    storeDir: o.storeDir,
    listen: hostPort(o.listenHost, self.port),
    maxPayload: natsSize(o.maxPayloadBytes),
    maxPayloadText: formatBytes(o.maxPayloadBytes),
    maxFileStore: natsSize(o.maxFileStoreBytes),
    maxFileStoreText: formatBytes(o.maxFileStoreBytes),
    clusterBlock: clusterBlock(o, self),
  })
}
