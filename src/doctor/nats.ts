/**
 * doctor's NATS checks for a node of a cluster (configuration cluster.servers, docs/scale-out.md): each
 * server reachable and its version, JetStream enabled, and the NATS cluster big enough for
 * cluster.replicas. One check (one line of findings, and the fix) each; every server is asked at once,
 * each bounded by NATS_TIMEOUT_MS. The nats client is imported only when the configuration has servers.
 */
import type {BrokerConfig} from '../config/index.js'

type ClusterConfig = BrokerConfig['cluster']
import type {DoctorCheck} from './types.js'

/** Connect (and each JetStream request) gives up after this long. */
export const NATS_TIMEOUT_MS = 3_000
/** The NATS server release the cluster code is tested with (Debian bookworm's); older ones lack what it uses. */
export const NATS_TESTED_VERSION = '2.9.10'

interface ServerProbe {
  url: string
  /** Without user info: what the report shows. */
  shown: string
  ok: boolean
  error?: string
  version?: string
  serverName?: string
  jetStream?: boolean
  /** Client URLs of the NATS cluster's servers, as the server advertises them (connect_urls). */
  clusterUrls: string[]
}

const shownUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//')

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

async function probe(url: string): Promise<ServerProbe & {jetStreamDetail?: string; jetStreamError?: string}> {
  const {connect} = await import('nats')
  const shown = shownUrl(url)
  let nc
  try {
    nc = await connect({servers: url, timeout: NATS_TIMEOUT_MS, reconnect: false, maxReconnectAttempts: 0, noRandomize: true, ignoreClusterUpdates: true, name: 'mqttctl-doctor'})
  } catch (error) {
    return {url, shown, ok: false, error: (error as Error).message || String(error), clusterUrls: []}
  }
  try {
    const info = nc.info!
    // Everything below came from the network: only strings and booleans of bounded size are kept.
    const text = (v: unknown, max = 200) => (typeof v === 'string' ? v.slice(0, max) : undefined)
    const clusterUrls = Array.isArray(info.connect_urls) ? info.connect_urls.filter((u): u is string => typeof u === 'string').slice(0, 64).map((u) => u.slice(0, 200)) : []
    const out = {url, shown, ok: true, version: text(info.version, 40), serverName: text(info.server_name), jetStream: info.jetstream === true, clusterUrls}
    if (!out.jetStream) return out
    try {
      const jsm = await nc.jetstreamManager({timeout: NATS_TIMEOUT_MS})
      const a = await jsm.getAccountInfo()
      return {...out, jetStreamDetail: `${a.streams} streams, ${a.consumers} consumers, file store ${a.storage} B used`}
    } catch (error) {
      return {...out, jetStreamError: (error as Error).message || String(error)}
    }
  } finally {
    await nc.close().catch(() => undefined)
  }
}

/** The NATS checks for `cluster`; none when it names no server (a single-process broker). */
export async function checkNats(cluster: ClusterConfig): Promise<DoctorCheck[]> {
  if (cluster.servers.length === 0) return []
  const probes = await Promise.all(cluster.servers.map((u) => probe(u)))
  const checks: DoctorCheck[] = []
  for (const p of probes) {
    const base = {id: `nats-${p.shown.replace(/^[a-z]+:\/\//, '')}`, name: `NATS server ${p.shown}`}
    if (!p.ok) {
      checks.push({...base, status: 'fail', detail: `cannot connect: ${p.error}`, fix: 'start nats-server there (apt-get install nats-server; mqttctl build --nodes writes its nats-server.conf) or correct cluster.servers / --cluster; a node keeps serving its own clients while NATS is away'})
      continue
    }
    const who = `nats-server ${p.version ?? 'of unknown version'}${p.serverName ? ` (server_name ${p.serverName})` : ''}`
    const old = p.version !== undefined && compareVersions(p.version, NATS_TESTED_VERSION) < 0
    checks.push(old
      ? {...base, status: 'warn', detail: `reachable: ${who}, older than ${NATS_TESTED_VERSION}, the release the cluster is tested with`, fix: `upgrade nats-server to ${NATS_TESTED_VERSION} or newer`}
      : {...base, status: 'pass', detail: `reachable: ${who}${p.clusterUrls.length > 0 ? `; its NATS cluster advertises ${p.clusterUrls.length} client URLs` : ''}`})
  }
  const up = probes.filter((p) => p.ok)
  const js = {id: 'nats-jetstream', name: 'NATS JetStream enabled'}
  if (up.length === 0) {
    checks.push({...js, status: 'fail', detail: 'no NATS server reachable: JetStream not checked', fix: 'make one of cluster.servers reachable first'})
    return checks
  }
  const without = up.filter((p) => !p.jetStream || p.jetStreamError !== undefined)
  if (without.length > 0) {
    const p = without[0]
    const why = p.jetStream ? `JetStream does not answer (${p.jetStreamError})` : 'JetStream is off'
    checks.push({...js, status: 'fail', detail: `${p.shown}: ${why}; retained messages and QoS 1/2 for persistent sessions on other nodes need it`, fix: 'start nats-server with -js -sd DIR, or a jetstream { store_dir: ... } block in nats-server.conf (mqttctl build --nodes writes one)'})
  } else {
    checks.push({...js, status: 'pass', detail: `${up.map((p) => p.shown).join(', ')}: ${up[0].jetStreamDetail}`})
  }
  // Replicas need that many servers in the NATS cluster (a server alone advertises no cluster URLs).
  const size = Math.max(1, ...up.map((p) => p.clusterUrls.length))
  const rep = {id: 'nats-replicas', name: `JetStream replicas ${cluster.replicas} (cluster.replicas)`}
  if (cluster.replicas > size) {
    checks.push({...rep, status: 'fail', detail: `cluster.replicas is ${cluster.replicas}, but the NATS cluster has ${size} server${size > 1 ? 's' : ''}: JetStream refuses the streams`, fix: `set cluster.replicas to at most ${size}, or run ${cluster.replicas} NATS servers in one cluster (docs/scale-out.md "Production NATS: three servers")`})
  } else if (cluster.replicas === 1 && size >= 3) {
    checks.push({...rep, status: 'warn', detail: `the NATS cluster has ${size} servers but the streams keep 1 copy: losing its server loses the retained messages and the copies for persistent sessions`, fix: 'set cluster.replicas to 3'})
  } else {
    checks.push({...rep, status: 'pass', detail: `the NATS cluster has ${size} server${size > 1 ? 's' : ''}, enough for ${cluster.replicas} replica${cluster.replicas > 1 ? 's' : ''}`})
  }
  return checks
}
