/**
 * A cluster node's figures on /metrics: two real nodes (the runtime's own process logic, runMain,
 * in this process) over a real nats-server, real MQTT clients, a real scrape of node A's and B's
 * metrics listeners. The figures are the ones $SYS/broker/mqttctl/cluster/... publishes, and every
 * cluster metric the Grafana dashboard charts is served.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {runMain} from '../../../src/broker/process/run-main.js'
import type {BrokerState} from '../../../src/broker/process/state.js'
import {closeAll, collect, connect, waitFor} from '../../helpers/mqtt.js'
import {requireNatsServer, startNats, type NatsServer} from '../../helpers/nats.js'
import {parsePrometheus} from './parse-prometheus.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  await closeAll()
  for (const c of cleanups.splice(0).reverse()) await c()
})

function node(nats: NatsServer, name: string): Promise<BrokerState> {
  const dir = mkdtempSync(join(tmpdir(), 'prom-cluster-'))
  const abort = new AbortController()
  let onListening: (s: BrokerState) => void = () => {}
  const listening = new Promise<BrokerState>((resolve) => (onListening = resolve))
  const argv = ['--cluster', nats.url, '--node-name', name, '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--metrics', '--metrics-port', '0', '--stats-interval', '1', '--log-level', 'warn']
  const done = runMain(argv, {}, {signal: abort.signal, handleSignals: false, write: () => {}, onListening})
  cleanups.push(async () => {
    abort.abort()
    expect(await done).toBe(0)
    rmSync(dir, {recursive: true, force: true})
  })
  return Promise.race([listening, done.then((code) => Promise.reject(new Error(`node ${name} exited with ${code}`)))])
}

async function scrape(state: BrokerState) {
  const res = await fetch(`http://127.0.0.1:${state.metrics!.port}/metrics`)
  expect(res.status).toBe(200)
  return parsePrometheus(await res.text())
}
const value = (m: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}) =>
  m.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../../../templates/monitoring/grafana-dashboard.json', import.meta.url)), 'utf8'))

describe('cluster figures in Prometheus', () => {
  it('a clustered node serves its cluster figures with HELP and TYPE; they match its $SYS', async () => {
    await requireNatsServer()
    const nats = await startNats()
    cleanups.push(() => nats.stop())
    const a = await node(nats, 'prom-a')
    const b = await node(nats, 'prom-b')
    const sub = await connect(`mqtt://127.0.0.1:${b.listeners[0].port}`, {clientId: 'prom-sub'})
    await sub.subscribeAsync('x/#', {qos: 0})
    const pub = await connect(`mqtt://127.0.0.1:${a.listeners[0].port}`, {clientId: 'prom-pub'})
    // Until B's interest reached A, then 5 messages across.
    await waitFor(async () => {
      await pub.publishAsync('x/probe', 'p', {qos: 0})
      return collect(sub).messages.length > 0
    }, 15_000, 'a message from A on B')
    for (let i = 0; i < 5; i++) await pub.publishAsync(`x/${i}`, String(i), {qos: 1})
    await waitFor(() => collect(sub).messages.filter((m) => m.topic !== 'x/probe').length === 5, 10_000, '5 messages on B')

    const ma = await scrape(a)
    const mb = await scrape(b)
    for (const [name, family] of ma) {
      if (!name.startsWith('mqtt_broker_cluster_')) continue
      expect(family.help, name).toBeTruthy()
      expect(family.type === 'counter', name).toBe(name.endsWith('_total'))
    }
    expect(value(ma, 'mqtt_broker_cluster_node_info', {node: 'prom-a'})).toBe(1)
    expect(value(ma, 'mqtt_broker_cluster_connected')).toBe(1)
    // B got at least the 5 and its probe; A may have exported a probe or two before B subscribed at nats-server.
    expect(value(mb, 'mqtt_broker_cluster_messages_imported_total')).toBeGreaterThanOrEqual(6)
    expect(value(ma, 'mqtt_broker_cluster_messages_exported_total')).toBeGreaterThanOrEqual(value(mb, 'mqtt_broker_cluster_messages_imported_total')!)
    expect(value(mb, 'mqtt_broker_cluster_messages_exported_total')).toBe(0)
    expect(value(ma, 'mqtt_broker_cluster_disconnects_total')).toBe(0)
    expect(value(ma, 'mqtt_broker_cluster_durable_copies_total', {result: 'refused'})).toBe(0)
    expect(ma.get('mqtt_broker_cluster_sessions_moved_total')!.samples.map((s) => s.labels.direction)).toEqual(['away', 'here'])

    // The totals: once each node has heard the other (statistics every second), over both nodes.
    const both = (await waitFor(async () => {
      const m = await scrape(a)
      return value(m, 'mqtt_broker_cluster_nodes') === 2 && value(m, 'mqtt_broker_cluster_clients') === 2 ? m : undefined
    }, 15_000, 'A hears B'))!
    expect(value(both, 'mqtt_broker_cluster_subscriptions')).toBeGreaterThanOrEqual(1)
    expect(value(both, 'mqtt_broker_cluster_messages_received')).toBeGreaterThanOrEqual(6)

    // The same figures as the node's $SYS topics.
    const sys = await connect(`mqtt://127.0.0.1:${a.listeners[0].port}`, {clientId: 'prom-sys'})
    await sys.subscribeAsync('$SYS/broker/mqttctl/cluster/#')
    await waitFor(() => collect(sys).messages.some((m) => m.topic.endsWith('/cluster/exported')), 5000, '$SYS cluster topics')
    const topic = (t: string) => Number(collect(sys).messages.filter((m) => m.topic === `$SYS/broker/mqttctl/cluster/${t}`).at(-1)?.payload.toString())
    const now = await scrape(a)
    expect(topic('connected')).toBe(value(now, 'mqtt_broker_cluster_connected'))
    expect(topic('disconnects')).toBe(value(now, 'mqtt_broker_cluster_disconnects_total'))
    expect(topic('durable/stored')).toBe(value(now, 'mqtt_broker_cluster_durable_copies_total', {result: 'stored'}))
  }, 60_000)

  it('every cluster panel of the Grafana dashboard charts a metric a clustered node serves', async () => {
    await requireNatsServer()
    const nats = await startNats()
    cleanups.push(() => nats.stop())
    const served = new Set((await scrape(await node(nats, 'prom-dash'))).keys())
    const exprs: string[] = dashboard.panels.flatMap((p: {targets: {expr: string}[]}) => p.targets.map((t) => t.expr))
    const names = exprs.flatMap((e) => [...e.matchAll(/\b(mqtt_broker_cluster_[a-z_]+)\b/g)].map((m) => m[1]))
    expect(names.length).toBeGreaterThanOrEqual(4)
    for (const name of names) expect(served, name).toContain(name)
  }, 60_000)
})
