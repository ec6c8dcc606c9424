/**
 * What durability adds to a QoS 1 PUBACK: the broker runs as a child process (`src/broker/main.ts`,
 * as `mqttctl start` runs it) once with the memory store and once with the durable store (sync
 * "always", then "interval"); 10 publishers send QoS 1 at a fixed total rate to one persistent
 * subscriber; PUBACK latency is measured per message at the publisher (send -> PUBACK), and the
 * store's fsync count is read from Prometheus /metrics (mqtt_broker_store_fsyncs_total).
 *
 *   node --import tsx bench/store-ack-latency.ts [--rate 2000] [--seconds 5]
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import mqtt, {type MqttClient, type Packet} from 'mqtt'
import {ownRuntime} from '../src/control/runtime.js'
import {freePort, waitForPort} from '../src/net.js'

const {values} = parseArgs({options: {rate: {type: 'string', default: '2000'}, seconds: {type: 'string', default: '5'}}})
const rate = Number(values.rate)
const seconds = Number(values.seconds)
if (!(rate > 0 && rate <= 100_000 && seconds > 0 && seconds <= 120)) throw new Error('--rate 1..100000, --seconds 1..120')

const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))])

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? NaN : Number(line.split(' ')[1])
}

function connect(port: number, o: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, ...o})
    c.once('connect', () => resolve(c))
    c.once('error', reject)
  })
}

async function run(label: string, env: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-acklat-'))
  const port = await freePort()
  const metricsPort = await freePort()
  const rt = ownRuntime()
  const child = spawn(rt.command, [...rt.args, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--metrics', '--metrics-port', String(metricsPort), '--log-level', 'warn'], {
    env: {...process.env, ...env},
    stdio: 'inherit',
  })
  try {
    await waitForPort(port, 30_000, child)
    const sub = await connect(port, {clientId: 'lat-sub', clean: false})
    await sub.subscribeAsync('lat/#', {qos: 1})
    let received = 0
    sub.on('message', () => received++)
    const pubs = await Promise.all(Array.from({length: 10}, (_, i) => connect(port, {clientId: `lat-pub-${i}`})))
    const lat: number[] = []
    for (const p of pubs) {
      const sentAt = new Map<number, number>()
      p.on('packetsend', (pk: Packet) => {
        if (pk.cmd === 'publish' && pk.qos === 1) sentAt.set(pk.messageId!, performance.now())
      })
      p.on('packetreceive', (pk: Packet) => {
        if (pk.cmd !== 'puback') return
        const t = sentAt.get(pk.messageId!)
        if (t !== undefined) lat.push(performance.now() - t)
        sentAt.delete(pk.messageId!)
      })
    }
    const fsync0 = await metric(metricsPort, 'mqtt_broker_store_fsyncs_total')
    const t0 = performance.now()
    const per = rate / 10
    let sent = 0
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * per)
        for (const [i, p] of pubs.entries()) for (let k = sent / 10; k < due; k++) p.publish(`lat/${i}`, 'x'.repeat(64), {qos: 1})
        sent = due * 10
        if (performance.now() - t0 >= seconds * 1000) {
          clearInterval(tick)
          resolve()
        }
      }, 5)
    })
    await new Promise((r) => setTimeout(r, 500))
    const elapsed = (performance.now() - t0) / 1000
    const fsyncs = (await metric(metricsPort, 'mqtt_broker_store_fsyncs_total')) - fsync0
    lat.sort((a, b) => a - b)
    console.log(
      `${label.padEnd(28)} sent ${sent}, received ${received}, PUBACK p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, fsyncs/s ${Number.isNaN(fsyncs) ? '-' : (fsyncs / elapsed).toFixed(0)}`,
    )
    for (const c of [sub, ...pubs]) c.end(true)
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    rmSync(dir, {recursive: true, force: true})
  }
}

console.log(`QoS 1 PUBACK latency, 10 publishers at ${rate} msg/s in total -> 1 persistent subscriber, ${seconds} s each`)
await run('memory (persistence none)', {MQTTCTL_PERSISTENCE: 'none'})
await run('durable, sync always', {MQTTCTL_PERSISTENCE: 'durable', MQTTCTL_PERSISTENCE_SYNC: 'always'})
await run('durable, sync interval', {MQTTCTL_PERSISTENCE: 'durable', MQTTCTL_PERSISTENCE_SYNC: 'interval'})
