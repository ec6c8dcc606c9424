/**
 * CPU cost of the broker's hot path per delivered message, in process, with no sockets and no
 * kernel: fake sockets feed pre-encoded frames straight into the broker's connections and count what
 * it writes (subscribers PUBACK their QoS 1 messages). Measures process CPU time (user + system) per
 * delivery, which a busy machine disturbs far less than a throughput figure does.
 *
 *   taskset -c 1 node --import tsx bench/probe/hotpath.ts [--scenario fanin,fanout,qos1] [--rounds 5]
 *   taskset -c 1 node --import tsx bench/probe/hotpath.ts --compare /path/to/other/checkout [--rounds 9]
 *
 * Works on this tree and on older ones (uses BrokerImpl.accept when it exists, else builds the
 * Connection as the old broker did). --compare loads the other checkout's broker into the same
 * process and alternates rounds between the two (same CPU, same moment), reporting both medians.
 */
import {EventEmitter} from 'node:events'
import {parseArgs} from 'node:util'
import mqtt from 'mqtt-packet'
import {pathToFileURL} from 'node:url'
import * as brokerModule from '../../src/broker/broker.js'
import * as connectionModule from '../../src/broker/connection.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'

interface Tree {
  name: string
  broker: unknown
  connection: unknown
  config: typeof DEFAULT_CONFIG
}
const here: Tree = {name: 'this tree', broker: brokerModule, connection: connectionModule, config: DEFAULT_CONFIG}
async function loadTree(root: string): Promise<Tree> {
  const url = (p: string) => pathToFileURL(`${root}/${p}`).href
  return {name: root, broker: await import(url('src/broker/broker.ts')), connection: await import(url('src/broker/connection.ts')), config: (await import(url('src/config/index.ts'))).DEFAULT_CONFIG}
}
let tree = here

const {values} = parseArgs({options: {scenario: {type: 'string', default: 'fanin,fanout,qos1'}, rounds: {type: 'string', default: '5'}, compare: {type: 'string'}}})

class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1'
  remotePort = 0
  writableLength = 0
  writableNeedDrain = false
  destroyed = false
  closed = false
  publishes = 0
  #rx: Buffer | undefined
  constructor(readonly ackQos1: boolean) {
    super()
  }
  pause(): this {
    return this
  }
  resume(): this {
    return this
  }
  setNoDelay(): this {
    return this
  }
  write(buf: Buffer): boolean {
    let b = this.#rx === undefined ? buf : Buffer.concat([this.#rx, buf])
    this.#rx = undefined
    let off = 0
    let acks: Buffer[] | undefined
    while (off < b.length) {
      let len = 0
      let mul = 1
      let i = off + 1
      for (;;) {
        if (i >= b.length) {
          this.#rx = b.subarray(off)
          off = b.length
          break
        }
        const x = b[i++]
        len += (x & 0x7f) * mul
        mul *= 128
        if (x < 0x80) break
      }
      if (off >= b.length) break
      if (i + len > b.length) {
        this.#rx = Buffer.from(b.subarray(off))
        break
      }
      const first = b[off]
      if (first >> 4 === 3) {
        this.publishes++
        if (this.ackQos1 && ((first >> 1) & 3) === 1) {
          const topicLen = b.readUInt16BE(i)
          const id = b.readUInt16BE(i + 2 + topicLen)
          ;(acks ??= []).push(Buffer.from([0x40, 2, id >> 8, id & 0xff]))
        }
      }
      off = i + len
    }
    if (acks !== undefined) {
      const chunk = Buffer.concat(acks)
      setImmediate(() => this.emit('data', chunk))
    }
    this.emit('written', buf)
    return true
  }
  end(): void {
    this.destroy()
  }
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.closed = true
    setImmediate(() => this.emit('close'))
  }
}

type AnyBroker = {accept?: (s: unknown) => void; connections: Set<unknown>; listen(): Promise<unknown>; close(): Promise<void>}

function attach(broker: AnyBroker, socket: FakeSocket): void {
  if (typeof broker.accept === 'function') broker.accept(socket)
  else {
    const Conn = (tree.connection as unknown as {Connection: new (b: unknown, s: unknown) => unknown}).Connection
    broker.connections.add(new Conn(broker, socket))
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
let ids = 0

async function client(broker: AnyBroker, ackQos1 = false): Promise<FakeSocket> {
  const s = new FakeSocket(ackQos1)
  attach(broker, s)
  s.emit('data', mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `h${ids++}`, keepalive: 0}))
  await turn()
  return s
}

async function subscribe(s: FakeSocket, topic: string, qos: 0 | 1): Promise<void> {
  s.emit('data', mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos}]}))
  await turn()
}

const PAYLOAD = Buffer.alloc(64, 7)
const frame = (topic: string, qos: 0 | 1, id = 1): Buffer => mqtt.generate({cmd: 'publish', topic, payload: PAYLOAD, qos, messageId: qos ? id : undefined, retain: false, dup: false})

interface Scenario {
  setup(broker: AnyBroker): Promise<{step(): void; delivered(): number}>
  steps: number
}

const scenarios: Record<string, Scenario> = {
  // 100 publishers, QoS 0, one '#' subscriber: 10 frames each per turn.
  fanin: {
    steps: 400,
    async setup(broker) {
      const sub = await client(broker)
      await subscribe(sub, '#', 0)
      const pubs = await Promise.all(Array.from({length: 100}, () => client(broker)))
      const chunks = pubs.map((_, i) => Buffer.concat(Array.from({length: 10}, () => frame(`fanin/${i}/data`, 0))))
      return {step: () => pubs.forEach((p, i) => p.emit('data', chunks[i])), delivered: () => sub.publishes}
    },
  },
  // 1 publisher, QoS 0, 1000 subscribers of one topic: 4 frames per turn.
  fanout: {
    steps: 200,
    async setup(broker) {
      const subs: FakeSocket[] = []
      for (let i = 0; i < 1000; i++) subs.push(await client(broker))
      for (const s of subs) await subscribe(s, 'fanout/all', 0)
      const pub = await client(broker)
      const chunk = Buffer.concat(Array.from({length: 4}, () => frame('fanout/all', 0)))
      return {step: () => pub.emit('data', chunk), delivered: () => subs.reduce((n, s) => n + s.publishes, 0)}
    },
  },
  // 10 publishers, QoS 1 (50 per turn each), one QoS 1 subscriber that acks.
  qos1: {
    steps: 400,
    async setup(broker) {
      const sub = await client(broker, true)
      await subscribe(sub, 'qos1/#', 1)
      const pubs = await Promise.all(Array.from({length: 10}, () => client(broker)))
      // Inbound QoS 1 ids are not tracked (only QoS 2): each publisher can send ids 1..50 again and again.
      const chunks = pubs.map((_, i) => Buffer.concat(Array.from({length: 50}, (_, k) => frame(`qos1/${i}`, 1, k + 1))))
      return {step: () => pubs.forEach((p, i) => p.emit('data', chunks[i])), delivered: () => sub.publishes}
    },
  },
}

async function measure(name: string): Promise<number> {
  const BrokerImpl = (tree.broker as unknown as {BrokerImpl: new (c: unknown, o: unknown) => AnyBroker}).BrokerImpl
  const config = tree.config
  // The same limits for every tree compared (receive maximum: the old default, no flow-control stalls).
  const broker = new BrokerImpl({...config, listeners: [], maxConnections: 100_000, limits: {...config.limits, maxQueuedBytes: 64 * 1024 * 1024, receiveMaximum: 65_535}}, {})
  await broker.listen()
  const sc = scenarios[name]
  const run = await sc.setup(broker)
  for (let i = 0; i < 50; i++) {
    run.step()
    await turn()
  }
  const d0 = run.delivered()
  const c0 = process.cpuUsage()
  for (let i = 0; i < sc.steps; i++) {
    run.step()
    await turn()
  }
  for (let i = 0; i < 20; i++) await turn()
  const c1 = process.cpuUsage(c0)
  const delivered = run.delivered() - d0
  await broker.close()
  return ((c1.user + c1.system) * 1000) / delivered // ns per delivery
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const other = values.compare === undefined ? undefined : await loadTree(values.compare)
for (const name of values.scenario!.split(',')) {
  const mine: number[] = []
  const theirs: number[] = []
  for (let r = 0; r < Number(values.rounds); r++) {
    // Alternate which tree goes first, so neither always runs after the other's garbage.
    for (const t of other === undefined ? [here] : r % 2 === 0 ? [here, other] : [other, here]) {
      tree = t
      ;(t === here ? mine : theirs).push(await measure(name))
    }
  }
  const m = median(mine)
  let line = `${name.padEnd(7)} median ${m.toFixed(0)} ns CPU per delivery (min ${Math.min(...mine).toFixed(0)}, max ${Math.max(...mine).toFixed(0)}, ${mine.length} rounds)`
  if (other !== undefined) line += `; ${other.name}: median ${median(theirs).toFixed(0)} (min ${Math.min(...theirs).toFixed(0)}); this/other ${(m / median(theirs)).toFixed(3)}`
  console.log(line)
}
process.exit(0)
