/**
 * Restart time of the durable store: builds N persistent sessions (one subscription each) and M
 * queued QoS 1 messages spread over them through the Store interface (what the broker reports),
 * then times open() from the journal, and again from a snapshot after a compaction.
 *
 *   node --import tsx bench/store-restart.ts [--sessions 100000] [--messages 1000000] [--payload 64] [--dir DIR]
 *   node --import tsx bench/store-restart.ts --dir DIR --open-only [--rounds 3]
 *
 * --open-only times open() of a store an earlier run left in --dir (nothing is written), --rounds
 * times: what to profile (`node --cpu-prof ...`) and to compare before and after a change.
 *
 * Bounded: everything is in one temporary directory (removed at the end unless --dir is given).
 * Wall time and the CPU time of this process are both printed: on a shared host the CPU time is the
 * steadier figure.
 */
import {cpSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import type {Delivery, Message} from '../src/broker/message.js'
import {createLogger} from '../src/broker/log.js'
import {DurableStore} from '../src/broker/persistence/durable.js'

const {values} = parseArgs({
  options: {
    sessions: {type: 'string', default: '100000'},
    messages: {type: 'string', default: '1000000'},
    payload: {type: 'string', default: '64'},
    dir: {type: 'string'},
    'open-only': {type: 'boolean', default: false},
    rounds: {type: 'string', default: '1'},
  },
})
const sessions = Number(values.sessions)
const messages = Number(values.messages)
const payloadBytes = Number(values.payload)
for (const [k, v] of Object.entries({sessions, messages, payload: payloadBytes})) {
  if (!Number.isInteger(v) || v < 0 || v > 50_000_000) throw new Error(`--${k} ${v}: expected an integer from 0 to 50,000,000`)
}
let dir = values.dir ?? mkdtempSync(join(tmpdir(), 'mqttctl-store-bench-'))
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2)

function diskBytes(): number {
  let n = 0
  for (const f of readdirSync(join(dir, 'store'))) n += statSync(join(dir, 'store', f)).size
  return n
}

async function reopen(label: string): Promise<DurableStore> {
  global.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const store = new DurableStore({dir, logger: createLogger('warn')})
  await store.open()
  const s = secs(t0)
  const cpu = process.cpuUsage(cpu0)
  const cpuSecs = ((cpu.user + cpu.system) / 1e6).toFixed(2)
  let queued = 0
  for (const x of store.sessions()) queued += x.queue?.length ?? 0
  global.gc?.()
  console.log(`open ${label}: ${s} s (${cpuSecs} s of CPU) for ${store.sessionCount} sessions, ${queued} queued messages (${mb(diskBytes())} on disk, heap +${mb(process.memoryUsage().heapUsed - heap0)})`)
  return store
}

async function main(): Promise<void> {
  if (values['open-only']) {
    if (values.dir === undefined) throw new Error('--open-only needs --dir (a store an earlier run left there)')
    const rounds = Number(values.rounds)
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error(`--rounds ${values.rounds}: expected an integer from 1 to 100`)
    const kept = dir
    for (let i = 0; i < rounds; i++) {
      // A copy each round: open() starts a new journal generation, and --dir stays as it was.
      dir = mkdtempSync(join(tmpdir(), 'mqttctl-store-bench-open-'))
      cpSync(join(kept, 'store'), join(dir, 'store'), {recursive: true})
      const store = await reopen(`round ${i + 1}`)
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    }
    return
  }
  console.log(`store restart bench: ${sessions} sessions, ${messages} messages of ${payloadBytes} bytes, in ${dir}`)
  let store = new DurableStore({dir, compactBytes: 2 ** 40})
  await store.open()
  const payload = Buffer.alloc(payloadBytes, 0x61)
  let t0 = performance.now()
  const recs = []
  for (let i = 0; i < sessions; i++) {
    const s = store.createSession(`client-${i}`, 3600)
    store.addSubscription(s, `devices/${i}/cmd`, {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0})
    s.disconnectedAt = Date.now()
    store.touchSession(s)
    recs.push(s)
    if (i % 20_000 === 19_999) await store.flushed()
  }
  await store.flushed()
  console.log(`built ${sessions} sessions in ${secs(t0)} s`)
  t0 = performance.now()
  for (let i = 0; i < messages; i++) {
    const s = recs[i % Math.max(1, sessions)]
    const msg: Message = {topic: `devices/${i % sessions}/cmd`, payload, qos: 1, retain: false, expiresAt: 0, owned: true}
    const d: Delivery = {msg, qos: 1, retain: false, packetId: 0, released: false, sent: false}
    store.enqueue(s, d)
    if (i % 50_000 === 49_999) await store.flushed()
  }
  await store.flushed()
  const f = store.figures()
  console.log(`queued ${messages} messages in ${secs(t0)} s: ${f.batches} batches, ${f.fsyncs} fsyncs (p50 ${f.fsyncP50Ms.toFixed(2)} ms, p99 ${f.fsyncP99Ms.toFixed(2)} ms), journal ${mb(diskBytes())}`)
  await store.close()
  recs.length = 0

  store = await reopen('from the journal')
  t0 = performance.now()
  await store.compact()
  console.log(`compaction (snapshot written while serving): ${secs(t0)} s`)
  await store.close()
  store = await reopen('from the snapshot')
  await store.close()
  if (values.dir === undefined) rmSync(dir, {recursive: true, force: true})
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
