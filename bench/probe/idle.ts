/**
 * Idle probe: N raw MQTT 3.1.1 clients (CONNECT keepalive 60 + one SUBSCRIBE each, pre-encoded with
 * mqtt-packet) against a broker child process; reports broker RSS per connection (after gc for ours)
 * and CPU over a window while the clients only send PINGREQ once per keep alive (spread evenly).
 *
 *   node --import tsx bench/probe/idle.ts [--target mqttctl|mosquitto|both] [--conns 10000] [--seconds 20]
 */
import net from 'node:net'
import {parseArgs} from 'node:util'
import mqtt from 'mqtt-packet'
import {type BrokerProc, cpuTicks, rss, sleep, startBroker, type Target} from './procs.js'

const {values} = parseArgs({
  options: {
    target: {type: 'string', default: 'both'},
    conns: {type: 'string', default: '10000'},
    seconds: {type: 'string', default: '20'},
    concurrency: {type: 'string', default: '200'},
    subscribe: {type: 'boolean', default: true},
    'no-subscribe': {type: 'boolean', default: false},
    'no-ping': {type: 'boolean', default: false},
  },
})
const CONNS = Number(values.conns)
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const SUBSCRIBE = !values['no-subscribe']
const KEEPALIVE = 60
const PINGREQ = Buffer.from([0xc0, 0x00])

function hello(i: number): Buffer {
  const connect = mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `idle-${i}`, keepalive: KEEPALIVE})
  if (!SUBSCRIBE) return connect
  const sub = mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `idle/${i}/state`, qos: 0}]})
  return Buffer.concat([connect, sub])
}
/** CONNACK (4 bytes) + SUBACK (5 bytes). */
const EXPECT = SUBSCRIBE ? 9 : 4

function open(port: number, i: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({port, host: '127.0.0.1'})
    let got = 0
    const timer = setTimeout(() => reject(new Error(`client ${i}: no CONNACK/SUBACK in 30 s`)), 30_000)
    s.once('connect', () => s.write(hello(i)))
    s.on('data', (d) => {
      got += d.length
      if (got >= EXPECT) {
        clearTimeout(timer)
        resolve(s)
      }
    })
    s.on('error', (e) => (clearTimeout(timer), reject(e)))
  })
}

async function openAll(port: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = new Array(CONNS)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < CONNS) {
      const i = next++
      sockets[i] = await open(port, i)
    }
  }
  await Promise.all(Array.from({length: CONCURRENCY}, worker))
  return sockets
}

interface Result {
  target: Target
  conns: number
  rssBefore: number
  rssAfter: number
  perConn: number
  cpuPercent: number
  closedByBroker: number
  /** After the idle window (V8's memory reducer may have shrunk the heap by then). */
  rssLate: number
  perConnLate: number
}

async function probe(target: Target): Promise<Result> {
  const broker: BrokerProc = await startBroker(target)
  let sockets: net.Socket[] = []
  try {
    // Warm-up: one client connects, subscribes and leaves, so one-time costs (mqtt-packet's 64 K
    // number-buffer cache behind generate, JIT code) are not counted per connection.
    ;(await open(broker.port, CONNS)).destroy()
    // Settle: V8's memory reducer shrinks the young generation that start-up grew (seconds of idling).
    await sleep(Number(process.env.PROBE_SETTLE_MS ?? 12_000))
    const memBefore = await broker.gc()
    const rssBefore = rss(broker.pid)
    sockets = await openAll(broker.port)
    let closedByBroker = 0
    for (const s of sockets) s.on('close', () => closedByBroker++)
    await sleep(2000)
    const memAfter = await broker.gc()
    await sleep(500)
    const rssAfter = rss(broker.pid)
    if (memBefore && memAfter) {
      const per = (k: keyof NodeJS.MemoryUsage): string => `${k} ${Math.round((memAfter[k] - memBefore[k]) / CONNS)}`
      console.log(`  per-conn: ${per('heapUsed')} ${per('heapTotal')} ${per('external')} ${per('arrayBuffers')} (B)`)
    }
    // Idle window: each client pings once per keep alive, spread over 100 ms slices.
    let cursor = 0
    const perSlice = Math.max(1, Math.round(CONNS / (KEEPALIVE * 10)))
    const pinger = setInterval(() => {
      if (values['no-ping']) return
      for (let k = 0; k < perSlice; k++) sockets[cursor++ % CONNS].write(PINGREQ)
    }, 100)
    // The first seconds after the connection storm are V8's memory reducer (GC, heap shrink), not idling.
    await sleep(Number(process.env.PROBE_SETTLE_MS ?? 12_000))
    const t0 = cpuTicks(broker.pid)
    const w0 = Date.now()
    await sleep(SECONDS * 1000)
    const ticks = cpuTicks(broker.pid) - t0
    const wall = (Date.now() - w0) / 1000
    clearInterval(pinger)
    await broker.gc()
    const rssLate = rss(broker.pid)
    return {
      rssLate,
      perConnLate: Math.round((rssLate - rssBefore) / CONNS),
      target,
      conns: CONNS,
      rssBefore,
      rssAfter,
      perConn: Math.round((rssAfter - rssBefore) / CONNS),
      cpuPercent: Math.round((ticks / 100 / wall) * 100 * 1000) / 1000,
      closedByBroker,
    }
  } finally {
    for (const s of sockets) s?.destroy()
    await sleep(200)
    await broker.stop()
  }
}

const targets: Target[] = values.target === 'both' ? ['mqttctl', 'mosquitto'] : [values.target as Target]
for (const t of targets) {
  const r = await probe(t)
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`
  console.log(
    `${r.target.padEnd(9)} conns=${r.conns} sub=${SUBSCRIBE ? 1 : 0} rss ${mb(r.rssBefore)} -> ${mb(r.rssAfter)}  per-conn ${r.perConn} B (after idle window ${r.perConnLate} B)  idle cpu ${r.cpuPercent}% over ${SECONDS}s  closed=${r.closedByBroker}`,
  )
  console.log(JSON.stringify(r))
}
process.exit(0)
