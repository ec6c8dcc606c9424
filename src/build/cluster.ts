/**
 * `mqttctl build --nodes N` (or a plan of several nodes): per node a configuration joined to the NATS
 * servers (cluster.servers, cluster.nodeName, cluster.replicas, cluster.workers), a launcher and a
 * systemd unit, and a nats-server.conf for each NATS server (cluster-nats.ts). Flags are checked here
 * (BuildError, one line naming the value and what is allowed); files are rendered by clusterFiles.
 */
import {ClusterConfigError, parseNatsUrls} from '../broker/cluster/config.js'
import {type BrokerConfig, validateConfig} from '../config/index.js'
import {formatInt} from '../cli/render.js'
import {DURABLE_STREAM_BYTES, JS_STORE_HEADROOM, MAX_WORKERS, NATS_CLUSTER_SERVERS, NATS_DEFAULT_MAX_PAYLOAD, NATS_HEADER_ROOM, NATS_MAX_PAYLOAD} from '../sizing/cluster.js'
import {type NatsServer, natsConfName, natsServerConf} from './cluster-nats.js'
import {BuildError} from './errors.js'

export const DEFAULT_NATS_STORE = '/var/lib/nats'
export const NATS_CLUSTER_PORT = 6222
/** The NATS servers when --nats is not given: three hosts named nats-1 .. nats-3 (as docs/scale-out.md). */
export const DEFAULT_NATS = Array.from({length: NATS_CLUSTER_SERVERS}, (_, i) => `nats://nats-${i + 1}:4222`).join(',')

export interface ClusterBuildInput {
  workers?: string
  nats?: string
  natsStore?: string
}

export interface ClusterBuild {
  nodes: number
  workers: number
  /** node-1 .. node-N: cluster.nodeName of each. */
  nodeNames: string[]
  /** cluster.servers of every node. */
  urls: string[]
  servers: NatsServer[]
  replicas: number
  storeDir: string
  maxPayloadBytes: number
  maxFileStoreBytes: number
}

function count(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new BuildError(`${flag} ${JSON.stringify(text)} is not allowed; allowed: a whole number from ${formatInt(min)} to ${formatInt(max)}`)
  return Number(text)
}

/** The scale-out part of a build for `nodes` nodes (src/tune/cluster.ts resolveNodesTarget), or null for one node without --nats. */
export function resolveClusterBuild(input: ClusterBuildInput, nodes: number, config: BrokerConfig): ClusterBuild | null {
  const workers = input.workers === undefined ? 1 : count(input.workers, '--workers', 1, MAX_WORKERS)
  if (nodes === 1 && input.nats === undefined) {
    for (const [flag, v] of [['--workers', input.workers], ['--nats-store', input.natsStore]] as const) {
      if (v !== undefined) throw new BuildError(`${flag} is only allowed with --nodes 2 or more or with --nats (a scale-out build); one node with workers: mqttctl start --workers N`)
    }
    return null
  }
  let urls: string[]
  try {
    urls = parseNatsUrls(input.nats ?? DEFAULT_NATS, '--nats')
  } catch (error) {
    if (error instanceof ClusterConfigError) throw new BuildError(error.message)
    throw error
  }
  const tls = urls.find((u) => u.startsWith('tls:'))
  if (tls) throw new BuildError(`--nats ${JSON.stringify(tls)} is not allowed: build writes nats-server.conf without TLS; allowed: nats://host:port URLs (add TLS to the written files yourself, then use tls:// in cluster.servers)`)
  const servers = urls.map((u, i): NatsServer => {
    const url = new URL(u)
    return {name: `nats-${i + 1}`, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), clusterPort: NATS_CLUSTER_PORT}
  })
  const seen = new Set<string>()
  for (const s of servers) {
    const key = `${s.host}:${s.port}`
    if (seen.has(key)) throw new BuildError(`--nats names ${key} twice; allowed: one URL per NATS server`)
    seen.add(key)
  }
  const storeDir = input.natsStore ?? DEFAULT_NATS_STORE
  if (!/^\/[^\s"'\\]*$/.test(storeDir)) throw new BuildError(`--nats-store ${JSON.stringify(storeDir)} is not allowed; allowed: an absolute path without spaces or quotes`)
  // JetStream replicas: 3 where there are 3 servers or more (a quorum survives one), else every server.
  const replicas = Math.min(NATS_CLUSTER_SERVERS, servers.length)
  // max_payload: NATS's 1 MB unless the configuration's maxPacketSize was lowered to something NATS can
  // carry (up to 64 MB): the broker's default (256 MB, MQTT's most) would ask NATS for its largest buffers.
  const packet = config.limits.maxPacketSize
  const payload = packet + NATS_HEADER_ROOM > NATS_MAX_PAYLOAD ? NATS_DEFAULT_MAX_PAYLOAD : Math.max(NATS_DEFAULT_MAX_PAYLOAD, Math.ceil((packet + NATS_HEADER_ROOM) / 2 ** 20) * 2 ** 20)
  const store = Math.ceil((DURABLE_STREAM_BYTES * JS_STORE_HEADROOM * replicas) / servers.length / 2 ** 30) * 2 ** 30
  const nodeNames = Array.from({length: nodes}, (_, i) => `node-${i + 1}`)
  return {nodes, workers, nodeNames, urls, servers, replicas, storeDir, maxPayloadBytes: payload, maxFileStoreBytes: store}
}

/** Node `name`'s configuration: the build's, joined to the NATS servers. Validated as start would. */
export function nodeConfig(base: BrokerConfig, c: ClusterBuild, name: string): BrokerConfig {
  return validateConfig({...structuredClone(base), cluster: {...base.cluster, servers: [...c.urls], nodeName: name, replicas: c.replicas, workers: c.workers}})
}

export interface ClusterFile {
  path: string
  content: string
  mode?: number
  description: string
}

const launcher = (name: string) => `#!/bin/sh
# ${name}: runs this layout's broker with ${name}'s configuration (joined to the NATS servers).
case $0 in */*) here=\${0%/*} ;; *) here=. ;; esac
here=$(CDPATH= cd -- "$here" && pwd -P) || exit 1
exec "$here/../../bin/mqtt-broker" --config "$here/broker.json" "$@"
`

/**
 * The per-node and NATS files: nodes/<name>/{broker.json, mqtt-broker, mqtt-broker.service} and
 * nats/nats-<i>.conf. `unit` is the layout's systemd unit (Linux targets), rewritten per node to run
 * that node's configuration; null for other targets.
 */
export function clusterFiles(base: BrokerConfig, c: ClusterBuild, installDir: string, unit: string | null): ClusterFile[] {
  const files: ClusterFile[] = []
  const etc = `--config ${installDir}/etc/broker.json`
  if (unit !== null && !unit.includes(etc)) throw new Error(`the systemd unit does not run "${etc}": cannot point it at a node's configuration`)
  for (const name of c.nodeNames) {
    const config = nodeConfig(base, c, name)
    files.push({path: `nodes/${name}/broker.json`, content: `${JSON.stringify(config, null, 2)}\n`, description: `${name}'s configuration: cluster.servers, nodeName ${name}, replicas ${c.replicas}, workers ${c.workers}`})
    files.push({path: `nodes/${name}/mqtt-broker`, content: launcher(name), mode: 0o755, description: `launcher: bin/mqtt-broker with ${name}'s configuration`})
    if (unit !== null) {
      const own = unit.replace(etc, `--config ${installDir}/nodes/${name}/broker.json`).replace(/^Description=(.*)$/m, `Description=$1, cluster node ${name}`)
      files.push({path: `nodes/${name}/mqtt-broker.service`, content: own, description: `systemd unit for ${name}, install as /etc/systemd/system/mqtt-broker.service on that host`})
    }
  }
  const o = {servers: c.servers, listenHost: '0.0.0.0', storeDir: c.storeDir, maxPayloadBytes: c.maxPayloadBytes, maxFileStoreBytes: c.maxFileStoreBytes, clusterName: base.cluster.subjectPrefix.replace(/\./g, '-')}
  for (const s of c.servers) files.push({path: `nats/${natsConfName(s)}`, content: natsServerConf(o, s), description: `nats-server.conf for ${s.name} (${s.host}:${s.port}), install as /etc/nats-server.conf`})
  return files
}
