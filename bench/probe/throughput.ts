/**
 * Quick throughput probe (the real load generator is `mqttctl bench`): broker child pinned with
 * taskset, this process is meant to run on the other core:
 *
 *   taskset -c 1 node --import tsx bench/probe/throughput.ts [--target both] [--scenario all] [--seconds 5] [--broker-cpu 0]
 *
 * Scenarios (64-byte payloads, MQTT 3.1.1): fanin = 100 QoS 0 publishers -> 1 subscriber on '#';
 * pairs = 50 publisher/subscriber pairs, QoS 0; qos1 = 10 publishers x 100 in flight -> 1 QoS 1
 * subscriber (acks every message); fanout = 1 QoS 0 publisher -> 1000 subscribers of one topic.
 * Reports messages delivered to subscribers per second over the window (after a 1 s warm-up).
 */
import {fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {Client, flood, publishFrame, qos1Publisher} from './load.js'
import {cpuTicks, sleep, startBroker, type Target} from './procs.js'

const {values} = parseArgs({
  options: {
    target: {type: 'string', default: 'both'},
    scenario: {type: 'string', default: 'all'},
    seconds: {type: 'string', default: '5'},
    'broker-cpu': {type: 'string', default: '0'},
    prof: {type: 'boolean', default: false},
  },
})
const SECONDS = Number(values.seconds)
const PAYLOAD = 64

interface Running {
  /** Deliveries counted so far. */
  count(): Promise<number>
  stop(): void
}

/** Subscribers in a child process (see sub-proc.ts). */
async function subProcess(port: number, n: number, topic: string, qos: 0 | 1): Promise<{count(): Promise<number>; stop(): void}> {
  const child = fork(fileURLToPath(new URL('./sub-proc.ts', import.meta.url)), [String(port), String(n), topic, String(qos)], {execArgv: ['--import', 'tsx']})
  await new Promise<void>((resolve) => child.once('message', () => resolve()))
  return {
    count: () =>
      new Promise((resolve) => {
        child.once('message', (m: {count: number}) => resolve(m.count))
        child.send('count')
      }),
    stop: () => void child.kill(),
  }
}

const counted = (subs: Client[]) => async (): Promise<number> => subs.reduce((n, s) => n + s.received, 0)

type Scenario = (port: number) => Promise<Running>

async function openMany(port: number, n: number, options: {ackQos1?: boolean} = {}): Promise<Client[]> {
  const out: Client[] = []
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({length: Math.min(50, n - i)}, () => Client.open(port, options)))))
  return out
}

const scenarios: Record<string, Scenario> = {
  async fanin(port) {
    const sub = await subProcess(port, 1, '#', 0)
    const pubs = await openMany(port, 100)
    const floods = pubs.map((p, i) => flood(p, publishFrame(`fanin/${i}/data`, PAYLOAD, 0), 16))
    return {count: sub.count, stop: () => (floods.forEach((f) => f.stop()), sub.stop(), pubs.forEach((c) => c.close()))}
  },
  async pairs(port) {
    const subs = await openMany(port, 50)
    await Promise.all(subs.map((s, i) => s.subscribe(`pairs/${i}`, 0)))
    const pubs = await openMany(port, 50)
    const floods = pubs.map((p, i) => flood(p, publishFrame(`pairs/${i}`, PAYLOAD, 0), 16))
    return {count: counted(subs), stop: () => (floods.forEach((f) => f.stop()), [...subs, ...pubs].forEach((c) => c.close()))}
  },
  async qos1(port) {
    const sub = await subProcess(port, 1, 'qos1/#', 1)
    const pubs = await openMany(port, 10)
    const runs = pubs.map((p, i) => qos1Publisher(p, `qos1/${i}`, PAYLOAD, 100))
    return {count: sub.count, stop: () => (runs.forEach((r) => r.stop()), sub.stop(), pubs.forEach((c) => c.close()))}
  },
  async fanout(port) {
    const subs = await openMany(port, 1000)
    for (let i = 0; i < subs.length; i += 100) await Promise.all(subs.slice(i, i + 100).map((s) => s.subscribe('fanout/all', 0)))
    const [pub] = await openMany(port, 1)
    const f = flood(pub, publishFrame('fanout/all', PAYLOAD, 0), 4)
    return {count: counted(subs), stop: () => (f.stop(), [...subs, pub].forEach((c) => c.close()))}
  },
}

async function run(target: Target, name: string): Promise<{rate: number; cpu: number}> {
  const nodeArgs = values.prof && target === 'mqttctl' ? ['--cpu-prof', `--cpu-prof-dir=/tmp/prof-${name}`] : []
  const broker = await startBroker(target, {cpu: values['broker-cpu'], nodeArgs})
  try {
    const r = await scenarios[name](broker.port)
    await sleep(1000)
    const n0 = await r.count()
    const c0 = cpuTicks(broker.pid)
    const t0 = performance.now()
    await sleep(SECONDS * 1000)
    const n1 = await r.count()
    const elapsed = performance.now() - t0
    const cpu = (cpuTicks(broker.pid) - c0) / (elapsed / 10) // ticks are 10 ms: fraction of one core
    const rate = ((n1 - n0) * 1000) / elapsed
    r.stop()
    if (target === 'mqttctl' && process.env.PROBE_STATS) {
      const stats = await new Promise((resolve) => {
        broker.child!.once('message', (m: {stats?: object}) => resolve(m.stats))
        broker.child!.send('stats')
      })
      console.log(`  broker counters: ${JSON.stringify(stats)}; subscribers counted ${n1}`)
    }
    return {rate, cpu}
  } finally {
    await sleep(200)
    await broker.stop()
  }
}

const targets: Target[] = values.target === 'both' ? ['mqttctl', 'mosquitto'] : [values.target as Target]
const names = values.scenario === 'all' ? Object.keys(scenarios) : values.scenario!.split(',')
for (const name of names) {
  const res: Partial<Record<Target, {rate: number; cpu: number}>> = {}
  for (const t of targets) res[t] = await run(t, name)
  const ratio = res.mqttctl !== undefined && res.mosquitto ? ` ratio ${(res.mqttctl.rate / res.mosquitto.rate).toFixed(2)}x` : ''
  const show = (t: Target): string => `${t} ${Math.round(res[t]!.rate).toLocaleString('en')} msg/s (broker cpu ${Math.round(res[t]!.cpu * 100)}%)`
  console.log(`${name.padEnd(7)} ${targets.map(show).join('  ')}${ratio}`)
}
process.exit(0)
