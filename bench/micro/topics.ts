/**
 * Micro-benchmark of the topic index (not part of the test suite; numbers vary by machine).
 *
 *   npx tsx bench/micro/topics.ts                 # throughput
 *   node --expose-gc --import tsx bench/micro/topics.ts   # + bytes per subscription
 *
 * Index: CLIENTS devices each subscribed to `devices/<id>/cmd`, plus 1,000 wildcard subscriptions
 * (tenant `#` filters, `+` filters, and a 100-member shared group).
 */
import {isValidUtf8, validateTopicName} from '../../src/broker/protocol/topics.js'
import {RetainedIndex} from '../../src/broker/retained.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {SubscriptionIndex, type SubOptions} from '../../src/broker/topics/index.js'

const CLIENTS = Number(process.env.CLIENTS ?? 100_000)
const gc = (globalThis as {gc?: () => void}).gc
const opts: SubOptions = {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0}

const ids = Array.from({length: CLIENTS}, (_, i) => `dev-${i.toString(36).padStart(6, '0')}`)
const filters = ids.map((id) => `devices/${id}/cmd`)

function wildcardSubs(index: SubscriptionIndex): void {
  for (let k = 0; k < 500; k++) index.subscribe(`tenant-app-${k}`, `tenants/t${k}/#`, opts)
  for (let k = 0; k < 300; k++) index.subscribe(`alarm-${k}`, `devices/+/alarm/${k}`, opts)
  for (let k = 0; k < 100; k++) index.subscribe(`status-${k}`, `+/status/${k}`, opts)
  for (let k = 0; k < 99; k++) index.subscribe(`worker-${k}`, '$share/workers/devices/+/telemetry', opts)
  index.subscribe('monitor', '$SYS/#', opts)
}

function build(cacheSize: number, stats?: BrokerStats): SubscriptionIndex {
  const index = new SubscriptionIndex({cacheSize, stats})
  for (let i = 0; i < CLIENTS; i++) index.subscribe(ids[i], filters[i], opts)
  wildcardSubs(index)
  return index
}

function rate(label: string, n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) fn(i) // warm-up
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  const ns = Number(process.hrtime.bigint() - t0)
  const perSec = (n / ns) * 1e9
  console.log(`${label.padEnd(58)} ${fmt(perSec).padStart(12)} /s   ${(ns / n).toFixed(0).padStart(6)} ns/op`)
  return perSec
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

function heap(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

// --- memory --------------------------------------------------------------------------------
console.log(`topic index micro-benchmark: ${fmt(CLIENTS)} clients + 1,000 wildcard subs, node ${process.version}`)
function perItem(label: string, bytes: number, count: number, note: string): void {
  console.log(`${label.padEnd(10)} ${(bytes / count).toFixed(0).padStart(5)} B each   ${note}`)
}

if (gc) {
  const keep: unknown[] = [] // keeps each measured structure alive until the end of the section
  const before = heap()
  const index = build(0)
  const after = heap()
  keep.push(index)
  perItem('subscribe', after - before, index.size, `${fmt(index.size)} subs, ${fmt(index.nodeCount())} trie nodes`)
  console.log('           (client id and filter strings excluded: the session holds them, the index shares them)')
  for (let i = 0; i < CLIENTS; i++) index.match(filters[i])
  perItem('memo', heap() - after, CLIENTS, 'per literal filter, once a topic only it matches was published')
  // One '#' subscriber: every topic shares one memoized result, so the delta is the cache alone.
  const withCache = new SubscriptionIndex({cacheSize: CLIENTS})
  withCache.subscribe('all', 'devices/#', opts)
  withCache.match('devices/warm/up')
  keep.push(withCache)
  const c0 = heap()
  // Fresh flat strings that only the cache keeps, as the packet parser makes them.
  for (let i = 0; i < CLIENTS; i++) withCache.match(Buffer.from(filters[i]).toString())
  perItem('cache', heap() - c0, withCache.cachedTopics, 'per cached topic (Map entry + the topic string)')
  const r0 = heap()
  const retained = new RetainedIndex()
  for (let i = 0; i < CLIENTS; i++) retained.set({topic: filters[i], payload: Buffer.from('1'), qos: 0})
  keep.push(retained)
  perItem('retained', heap() - r0, retained.size, 'per message (trie + message object + 1-byte Buffer)')
  if (keep.length !== 3) throw new Error('unreachable')
} else {
  console.log('memory: run with `node --expose-gc --import tsx bench/micro/topics.ts` for bytes per subscription')
}

// --- build ---------------------------------------------------------------------------------
{
  const index = new SubscriptionIndex({cacheSize: 0})
  rate('subscribe devices/<id>/cmd', CLIENTS, (i) => index.subscribe(ids[i], filters[i], opts))
  rate('unsubscribe devices/<id>/cmd', CLIENTS, (i) => index.unsubscribe(ids[i], filters[i]))
}

// --- match ---------------------------------------------------------------------------------
const N = 1_000_000
const stats = new BrokerStats()
const uncached = build(0)
const cached = build(16_384, stats)
const hot = Array.from({length: 10_000}, (_, i) => filters[(i * 7919) % CLIENTS])
const tele = Array.from({length: 10_000}, (_, i) => `devices/${ids[(i * 104729) % CLIENTS]}/telemetry`)
let sink = 0

rate('match miss  devices/<id>/cmd, sequential ids', N, (i) => {
  sink += uncached.match(filters[i % CLIENTS]).clients.length
})
rate('match miss  devices/<id>/cmd, random ids (memory-bound)', N, (i) => {
  sink += uncached.match(filters[(i * 7919) % CLIENTS]).clients.length
})
rate('match miss  devices/<id>/telemetry (shared group)', N, (i) => {
  sink += uncached.match(tele[i % tele.length]).shared.length
})
rate('match miss  tenants/t7/a/b (# filter)', N, () => {
  sink += uncached.match('tenants/t7/a/b').clients.length
})
rate('match miss  unknown/topic/x (no subscriber)', N, () => {
  sink += uncached.match('unknown/topic/x').clients.length
})
for (const t of hot) cached.match(t)
stats.matchCacheHits = stats.matchCacheMisses = 0
rate('match hit   10k hot topics in a 16k cache', N, (i) => {
  sink += cached.match(hot[i % hot.length]).clients.length
})
rate('match mixed 100k topics through a 16k cache', N, (i) => {
  sink += cached.match(filters[(i * 7919) % CLIENTS]).clients.length
})
const {matchCacheHits: hits, matchCacheMisses: misses} = stats
console.log(`  cache: hits ${fmt(hits)}, misses ${fmt(misses)}, ratio ${stats.cacheHitRatio().toFixed(3)}`)

// Allocation on the hit path: heap growth over 1M hits (no GC forced in between).
if (gc) {
  for (const t of hot) cached.match(t)
  gc()
  const h0 = process.memoryUsage().heapUsed
  for (let i = 0; i < N; i++) sink += cached.match(hot[i % hot.length]).clients.length
  const h1 = process.memoryUsage().heapUsed
  console.log(`  heap growth over 1M cache hits: ${fmt(h1 - h0)} bytes (${((h1 - h0) / N).toFixed(2)} B/hit)`)
}

// --- invalidation --------------------------------------------------------------------------
for (const [label, scanLimit] of [
  ['wildcard subscribe, 16k cached, scan', 1e9],
  ['wildcard subscribe, 16k cached, clear', 0],
] as const) {
  const index = new SubscriptionIndex({cacheSize: 16_384, cacheScanLimit: scanLimit})
  wildcardSubs(index)
  const M = 200
  let total = 0
  for (let k = 0; k < M; k++) {
    for (let i = 0; i < 16_384; i++) index.match(filters[i % CLIENTS])
    const t0 = process.hrtime.bigint()
    index.subscribe(`new-${k}`, `devices/+/x${k}`, opts)
    total += Number(process.hrtime.bigint() - t0)
  }
  console.log(`${label.padEnd(58)} ${(total / M / 1000).toFixed(1).padStart(12)} µs/op`)
}
{
  const index = build(16_384)
  for (const t of hot) index.match(t)
  rate('literal subscribe+unsubscribe with a full cache', 100_000, (i) => {
    index.subscribe('x', `devices/${i}/new`, opts)
    index.unsubscribe('x', `devices/${i}/new`)
  })
}

// --- validation ----------------------------------------------------------------------------
const ascii = Buffer.from('devices/dev-000123/telemetry/temperature')
const utf8 = Buffer.from('maison/séjour/température/capteur-principal/étage-2')
const big = Buffer.from('x'.repeat(1024) + 'é')
rate('isValidUtf8 40 B ASCII topic', N, () => (sink += isValidUtf8(ascii) ? 1 : 0))
rate('isValidUtf8 56 B UTF-8 topic', N, () => (sink += isValidUtf8(utf8) ? 1 : 0))
rate('isValidUtf8 1 KB UTF-8 string', N, () => (sink += isValidUtf8(big) ? 1 : 0))
rate('validateTopicName 40 chars', N, () => (sink += validateTopicName('devices/dev-000123/telemetry/temp') ? 1 : 0))

// --- retained ------------------------------------------------------------------------------
{
  const retained = new RetainedIndex()
  for (let i = 0; i < CLIENTS; i++) retained.set({topic: filters[i], payload: Buffer.from('1'), qos: 0})
  rate('retained match devices/<id>/cmd (literal)', 100_000, (i) => {
    sink += retained.match(filters[i % CLIENTS]).length
  })
  rate(`retained match devices/+/cmd (${fmt(CLIENTS)} results)`, 10, () => {
    sink += retained.match('devices/+/cmd').length
  })
}
if (sink === -1) console.log(sink)
