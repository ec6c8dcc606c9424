/**
 * `mqttctl start --workers 2 --metrics`: the primary serves one Prometheus endpoint with every
 * worker's figures (each sample labelled with its worker), broker.json names it, and the workers
 * bind no metrics port of their own. Real processes, a real nats-server, real MQTT clients.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {Sandbox, freePort, waitFor as waitUntil} from '../../control/helpers.js'
import {closeAll, connect} from '../../helpers/mqtt.js'
import {requireNatsServer} from '../../helpers/nats.js'
import {parsePrometheus} from '../stats/parse-prometheus.js'

const box = new Sandbox()
afterEach(async () => {
  await closeAll()
  await box.cleanup()
})

interface State {
  pid: number
  metrics: {host: string; port: number} | null
}

describe('start --workers 2 --metrics', () => {
  it('one endpoint on the primary answers for both workers, labelled by worker', async () => {
    await requireNatsServer()
    const dir = box.dir()
    const port = await freePort()
    const child = box.spawn(['start', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--metrics', '--metrics-port', '0'])
    let out = ''
    child.all!.on('data', (d: Buffer) => (out += d.toString()))
    const state = (await waitUntil('broker.json', () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'broker.json'), 'utf8')) as State
      } catch {
        return undefined
      }
    }, 30_000))!
    box.track(Number(/nats-server .* \(pid (\d+)/.exec(out)?.[1]))
    expect(state.metrics).not.toBeNull()
    expect(out).toContain(`Metrics of the 2 workers on http://127.0.0.1:${state.metrics!.port}/metrics`)
    // No worker bound a metrics listener of its own.
    expect(out).not.toMatch(/worker \d: Metrics on/)
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${state.metrics!.port}/metrics`)
      expect(res.status).toBe(200)
      return parsePrometheus(await res.text())
    }
    const value = (m: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string>) =>
      m.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

    // Four clients: the primary hands connections to the workers in turn, so both hold some.
    for (let i = 0; i < 4; i++) await connect(`mqtt://127.0.0.1:${port}`, {clientId: `wm-${i}`})
    const m = (await waitUntil('both workers counted', async () => {
      const got = await scrape()
      const perWorker = ['0', '1'].map((w) => value(got, 'mqtt_broker_connections', {worker: w}) ?? 0)
      return perWorker[0] + perWorker[1] === 4 && perWorker.every((n) => n > 0) ? got : undefined
    }, 15_000))!
    expect(value(m, 'mqtt_broker_workers', {})).toBe(2)
    expect(value(m, 'mqtt_broker_worker_up', {worker: '0'})).toBe(1)
    expect(value(m, 'mqtt_broker_worker_up', {worker: '1'})).toBe(1)
    // Every broker family carries both workers' samples, each labelled; the labels a family had stay.
    for (const name of ['mqtt_broker_connections', 'mqtt_broker_connections_total', 'process_resident_memory_bytes']) {
      expect(m.get(name)!.samples.map((s) => s.labels.worker).sort(), name).toEqual(['0', '1'])
    }
    expect(m.get('mqtt_broker_messages_received_total')!.samples.filter((s) => s.labels.qos === '1').map((s) => s.labels.worker).sort()).toEqual(['0', '1'])
    // Each worker is a cluster node: its cluster figures come along, and each sees the other.
    expect(value(m, 'mqtt_broker_cluster_connected', {worker: '1'})).toBe(1)
    expect(m.get('mqtt_broker_cluster_node_info')!.samples.map((s) => s.labels.node).sort()).toEqual([expect.stringMatching(/-w0$/), expect.stringMatching(/-w1$/)])
    await waitUntil('the workers see each other', async () => (value(await scrape(), 'mqtt_broker_cluster_nodes', {worker: '0'}) === 2 ? true : undefined), 15_000)
    expect((await fetch(`http://127.0.0.1:${state.metrics!.port}/healthz`)).status).toBe(200)
    // status reads broker.json: it names the primary's endpoint.
    expect((await box.cli(['status', '--data-dir', dir])).stdout).toContain(`http://127.0.0.1:${state.metrics!.port}/metrics`)

    await closeAll()
    process.kill(state.pid, 'SIGTERM')
    expect((await child).exitCode).toBe(0)
    await expect(fetch(`http://127.0.0.1:${state.metrics!.port}/metrics`)).rejects.toThrow()
  }, 90_000)
})
