/**
 * The guide's "load test with 10 – 20 clients" (§8): 10 publishers and 10 paired subscribers
 * (20 connections) send 1,000 QoS 1 messages through the running broker with `mqttctl bench`'s engine.
 */
import {runBench, normalize} from '../bench/index.js'
import type {DoctorCheck} from './types.js'

export const LOAD_CLIENTS = 20
export const LOAD_MESSAGES = 1_000

export async function checkLoad(target: {host: string; port: number} | undefined): Promise<DoctorCheck> {
  const base = {id: 'load-test', name: `Load test, ${LOAD_CLIENTS} clients`}
  if (!target) return {...base, status: 'fail', detail: 'no broker running on this data directory to load', fix: 'start it (mqttctl start) and run doctor --load-test again'}
  const half = LOAD_CLIENTS / 2
  try {
    const r = await runBench(normalize('pubsub', {host: target.host, port: target.port, clients: half, subscribers: half, qos: 1, count: LOAD_MESSAGES, duration: 0, clientId: `doctor-${process.pid}-%i`, topic: `doctor/${process.pid}/%i`}))
    const figures = `${r.connect.connected}/${r.connect.attempted} connected, ${r.messages.received}/${r.messages.sent} messages delivered` + (r.rates.receivedPerSecond > 0 ? `, ${Math.round(r.rates.receivedPerSecond)} msg/s` : '') + (r.latencyMs ? `, p99 ${r.latencyMs.p99} ms` : '')
    if (r.connect.connected < r.connect.attempted || r.messages.lost > 0 || r.errors.count > 0) {
      const errors = Object.keys(r.errors.messages).slice(0, 2).join('; ')
      return {...base, status: 'fail', detail: figures + (errors ? ` (${errors})` : ''), fix: 'see the broker log; check maxConnections and ulimit -n'}
    }
    return {...base, status: 'pass', detail: figures}
  } catch (error) {
    return {...base, status: 'fail', detail: `bench could not run: ${(error as Error).message}`, fix: 'check the broker answers on its first listener'}
  }
}
