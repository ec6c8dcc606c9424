/**
 * The runtime's per-unit costs on this host, measured with the bench engine against our broker as a
 * child process on loopback: what `plan --verify` and `bench calibrate` run, and how the shipped
 * runtime profile (src/sizing/runtime-profile.json) was made. Every step starts a fresh broker, so
 * one step's garbage is not the next step's baseline.
 *
 *   memory     N connections (no subscription) in one storm: RSS right after it and once settled;
 *              N connections with k subscriptions each: the same, the difference is per subscription
 *   stores     R retained messages, then Q messages queued for offline sessions: RSS growth each
 *   cpu        pub only (messages in), 1:1 pairs (in + out), at a fixed rate: broker CPU per message
 *   broadcast  one message to S subscribers of one topic: completion time (bench fanout)
 *   tls        T connections over TLS: RSS and CPU beyond a plain connection's
 *
 * Linux only (RSS and CPU time from /proc). Bounded: every step has its own time limit.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, hostname, platform, release, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'
import {BROKER_NODE_FLAGS, isMemoryFlag} from '../broker/node-flags.js'
import {hold, holdWs, publishAcked, subscribeHeld} from './hold.js'
import {runBench} from './index.js'
import {type BrokerSpec, checkAborted, MeasureError, type MeasuredBroker, settled, sleep, startBroker, withBroker} from './measure-broker.js'
import {normalize} from './options.js'

export interface MeasureSpec extends BrokerSpec {
  /** Idle connections for the memory figures. */
  connections: number
  /** Subscriptions per connection in the second memory step (at least 1). */
  subsPerConnection: number
  payloadBytes: number
  qos: 0 | 1 | 2
  /** Messages per second for the CPU steps (pub only and 1:1 pairs). */
  msgRate: number
  /** Seconds each CPU step runs, its 1 s warm-up included (default 5: 4 s measured; at least 2, else nothing is measured). */
  cpuSeconds?: number
  /** Subscribers of the broadcast step. */
  broadcastSubscribers: number
  /** Messages queued for offline sessions (spread over sessions of at most 1,000 each). */
  queuedMessages: number
  retainedMessages: number
  /** TLS connections (0: skip the TLS step); also the WebSocket step's connections. */
  tlsConnections: number
  log?: (line: string) => void
}

export interface Measurement {
  /** RSS of a started, idle broker with no client, bytes. */
  baselineRssBytes: number
  /** N plain connections: RSS right after the storm and once settled. */
  connections: {count: number; rssAfterStormBytes: number; rssIdleBytes: number; cpuMillis: number; subsAfter: number; rssSubscribedBytes: number}
  /** N connections with k subscriptions each. */
  subscribed: {count: number; subsPerConnection: number; rssAfterStormBytes: number; rssIdleBytes: number; baselineRssBytes: number}
  retained: {count: number; payloadBytes: number; rssGrowthBytes: number}
  queued: {count: number; payloadBytes: number; rssGrowthBytes: number}
  cpu: {rate: number; payloadBytes: number; qos: 0 | 1 | 2; inOnlyPercent: number; inOnlyRate: number; pairsPercent: number; pairsRate: number}
  broadcast: {subscribers: number; p50Ms: number; cpuMillis: number; deliveries: number}
  tls: {count: number; rssAfterStormBytes: number; rssIdleBytes: number; baselineRssBytes: number; cpuMillis: number} | null
  /** WebSocket connections: null with `wsSkipped` saying why when the runtime has no WebSocket listener. */
  ws: {count: number; rssIdleBytes: number; baselineRssBytes: number} | null
  wsSkipped?: string
  host: HostInfo
  nodeFlags: string[]
}

export interface HostInfo {
  name: string
  cpu: string
  cores: number
  memoryBytes: number
  os: string
  node: string
}

export function hostInfo(): HostInfo {
  const c = cpus()
  return {name: hostname(), cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memoryBytes: totalmem(), os: `${platform()} ${release()}`, node: process.version}
}

/**
 * Memory of N connections with `subs` subscriptions each, in one storm, on a fresh broker; with
 * `thenSubscribe` > 0 the same connections then subscribe to that many filters each, settled (the
 * per-subscription figure from one broker: two brokers differ by more than the subscriptions cost).
 */
async function storm(spec: MeasureSpec, subs: number, useTls = false, thenSubscribe = 0) {
  return withBroker(
    spec,
    spec.connections + 100,
    async (b) => {
      // A first client warms up one-time costs (JIT, encoders) so they are not counted per connection.
      const warm = await hold({host: '127.0.0.1', port: useTls ? b.tlsPort! : b.port, count: 1, subs, prefix: 'warm', tls: useTls})
      await warm.close()
      const baselineRssBytes = await settled(b, spec)
      checkAborted(spec)
      const count = useTls ? spec.tlsConnections : spec.connections
      const cpu0 = b.cpu()
      const held = await hold({host: '127.0.0.1', port: useTls ? b.tlsPort! : b.port, count, subs, prefix: `m${subs}`, tls: useTls, signal: spec.signal})
      try {
        const cpu = b.cpu() - cpu0
        const rssAfterStormBytes = b.rss()
        const rssIdleBytes = await settled(b, spec)
        if (held.closedByBroker() > 0) throw new MeasureError(`the broker closed ${held.closedByBroker()} of ${count} idle connections`)
        let rssSubscribedBytes = rssIdleBytes
        if (thenSubscribe > 0) {
          await subscribeHeld(held, thenSubscribe, 'late', spec.qos)
          rssSubscribedBytes = await settled(b, spec)
        }
        return {count, baselineRssBytes, rssAfterStormBytes, rssIdleBytes, rssSubscribedBytes, cpuMillis: cpu}
      } finally {
        await held.close()
      }
    },
    useTls,
  )
}

/** Retained messages, then messages queued for offline sessions, on one fresh broker. */
async function stores(spec: MeasureSpec) {
  return withBroker(spec, 1000, async (b) => {
    const host = '127.0.0.1'
    await publishAcked({host, port: b.port, clientId: 'warm-pub', count: 100, payloadBytes: spec.payloadBytes, topic: (i) => `warm/${i}`})
    const rss0 = await settled(b, spec)
    let left = spec.retainedMessages
    for (let round = 0; left > 0; round++) {
      const n = Math.min(left, 50_000)
      await publishAcked({host, port: b.port, clientId: `ret-${round}`, count: n, payloadBytes: spec.payloadBytes, retain: true, topic: (i) => `ret/${round}/${i}`, signal: spec.signal})
      left -= n
    }
    const rss1 = await settled(b, spec)
    checkAborted(spec)
    // Offline sessions of at most 1,000 queued messages each (the default limits.maxQueuedMessages).
    const sessions = Math.ceil(spec.queuedMessages / 1000)
    const parked = await hold({host, port: b.port, count: sessions, subs: 1, prefix: 'q', clean: false, qos: 1})
    await parked.close()
    const rss2 = await settled(b, spec)
    const per = Math.ceil(spec.queuedMessages / sessions)
    const total = per * sessions
    for (let start = 0; start < total; start += 50_000) {
      const n = Math.min(50_000, total - start)
      await publishAcked({host, port: b.port, clientId: `qp-${start}`, count: n, payloadBytes: spec.payloadBytes, topic: (i) => `q/${Math.floor((start + i) / per)}/0`, signal: spec.signal})
    }
    const rss3 = await settled(b, spec)
    return {
      retained: {count: spec.retainedMessages, payloadBytes: spec.payloadBytes, rssGrowthBytes: rss1 - rss0},
      queued: {count: total, payloadBytes: spec.payloadBytes, rssGrowthBytes: rss3 - rss2},
    }
  })
}

async function cpuSteps(spec: MeasureSpec) {
  return withBroker(spec, 1000, async (b) => {
    const common = {port: b.port, host: '127.0.0.1', clients: 10, rate: spec.msgRate, size: Math.max(12, spec.payloadBytes), qos: spec.qos, duration: spec.cpuSeconds ?? 5, warmup: 1, brokerPid: b.pid, window: 0}
    const pub = await runBench(normalize('pub', {...common, topic: 'cpu/in/%i'}))
    checkAborted(spec)
    const pairs = await runBench(normalize('pubsub', {...common, topic: 'cpu/pair/%i'}))
    const inOnlyPercent = pub.broker?.cpuPercent ?? null
    const pairsPercent = pairs.broker?.cpuPercent ?? null
    if (inOnlyPercent === null || pairsPercent === null) throw new MeasureError('could not read the broker\'s CPU time (/proc/<pid>/stat); Linux is needed')
    if (pairs.rates.receivedPerSecond === 0) throw new MeasureError('no message reached a subscriber in the CPU step')
    return {rate: spec.msgRate, payloadBytes: spec.payloadBytes, qos: spec.qos, inOnlyPercent, inOnlyRate: pub.rates.sentPerSecond, pairsPercent, pairsRate: pairs.rates.receivedPerSecond}
  })
}

async function broadcastStep(spec: MeasureSpec) {
  const s = spec.broadcastSubscribers
  return withBroker(spec, s + 100, async (b) => {
    const count = 5
    let cpu0 = 0
    const r = await runBench(normalize('fanout', {port: b.port, host: '127.0.0.1', clients: s, topic: 'bcast/all', interval: Math.max(200, Math.ceil(s / 10)), count, duration: 120, size: Math.max(12, spec.payloadBytes), qos: 0}), {
      ready: () => {
        cpu0 = b.cpu()
      },
    })
    const cpu = b.cpu() - cpu0
    const p50 = r.broadcasts?.completionMs?.p50
    if (p50 === undefined || r.broadcasts!.complete === 0) throw new MeasureError(`the broadcast to ${s} subscribers never reached all of them`)
    return {subscribers: s, p50Ms: p50, cpuMillis: cpu, deliveries: r.messages.received}
  })
}

/** WebSocket connections (no subscription) on a fresh broker with a WebSocket listener; MeasureError when it has none. */
async function wsStep(spec: MeasureSpec): Promise<NonNullable<Measurement['ws']>> {
  let b: MeasuredBroker
  try {
    b = await startBroker(spec, spec.tlsConnections + 100, false, true)
  } catch (error) {
    throw new MeasureError(`this runtime has no WebSocket listener to measure (${(error as Error).message.split('\n').find((l) => /ws-port|websocket|ERROR/i.test(l)) ?? 'it did not start with --ws-port'})`)
  }
  try {
    const warm = await holdWs({host: '127.0.0.1', port: b.wsPort!, count: 1, subs: 0, prefix: 'wswarm'}).catch((error: Error) => {
      throw new MeasureError(`the WebSocket listener did not answer MQTT: ${error.message}`)
    })
    await warm.close()
    const baselineRssBytes = await settled(b, spec)
    const held = await holdWs({host: '127.0.0.1', port: b.wsPort!, count: spec.tlsConnections, subs: 0, prefix: 'ws', signal: spec.signal})
    try {
      const rssIdleBytes = await settled(b, spec)
      return {count: held.count, rssIdleBytes, baselineRssBytes}
    } finally {
      await held.close()
    }
  } finally {
    await b.stop()
  }
}

/** Runs every step of `spec`; `log` gets one line as each starts. */
export async function measure(spec: MeasureSpec): Promise<Measurement> {
  if (platform() !== 'linux') throw new MeasureError(`measuring needs Linux (/proc); this is ${platform()}`)
  // The warm-up takes the first second: with less than 2 s the measured window is empty (a run then failed at random).
  if (spec.cpuSeconds !== undefined && !(spec.cpuSeconds >= 2)) throw new MeasureError(`cpuSeconds ${spec.cpuSeconds} is not allowed: at least 2 (1 s warm-up, then the measured window)`)
  const log = spec.log ?? (() => {})
  const n = spec.connections.toLocaleString('en-US')
  log(`memory: ${n} connections, no subscription…`)
  const plain = await storm(spec, 0, false, Math.max(1, spec.subsPerConnection))
  checkAborted(spec)
  const k = Math.max(1, spec.subsPerConnection)
  log(`memory: ${n} connections with ${k} subscription${k === 1 ? '' : 's'} each…`)
  const subscribed = await storm(spec, k)
  checkAborted(spec)
  log(`memory: ${spec.retainedMessages.toLocaleString('en-US')} retained and ${spec.queuedMessages.toLocaleString('en-US')} queued messages of ${spec.payloadBytes} B…`)
  const st = await stores(spec)
  checkAborted(spec)
  log(`CPU: messages in, and 1:1 pairs, at ${spec.msgRate.toLocaleString('en-US')} msg/s…`)
  const cpu = await cpuSteps(spec)
  checkAborted(spec)
  log(`broadcast: one message to ${spec.broadcastSubscribers.toLocaleString('en-US')} subscribers, 5 times…`)
  const broadcast = await broadcastStep(spec)
  let tlsResult: Measurement['tls'] = null
  if (spec.tlsConnections > 0) {
    checkAborted(spec)
    log(`memory: ${spec.tlsConnections.toLocaleString('en-US')} TLS connections…`)
    const t = await storm(spec, 0, true)
    tlsResult = {count: t.count, rssAfterStormBytes: t.rssAfterStormBytes, rssIdleBytes: t.rssIdleBytes, baselineRssBytes: t.baselineRssBytes, cpuMillis: t.cpuMillis}
  }
  let ws: Measurement['ws'] = null
  let wsSkipped: string | undefined
  if (spec.tlsConnections > 0) {
    checkAborted(spec)
    log(`memory: ${spec.tlsConnections.toLocaleString('en-US')} WebSocket connections…`)
    try {
      ws = await wsStep(spec)
    } catch (error) {
      if (!(error instanceof MeasureError)) throw error
      wsSkipped = error.message
      log(`  WebSocket not measured: ${error.message}`)
    }
  }
  return {
    ws,
    wsSkipped,
    baselineRssBytes: plain.baselineRssBytes,
    connections: {count: plain.count, rssAfterStormBytes: plain.rssAfterStormBytes, rssIdleBytes: plain.rssIdleBytes, cpuMillis: plain.cpuMillis, subsAfter: Math.max(1, spec.subsPerConnection), rssSubscribedBytes: plain.rssSubscribedBytes},
    subscribed: {count: subscribed.count, subsPerConnection: k, rssAfterStormBytes: subscribed.rssAfterStormBytes, rssIdleBytes: subscribed.rssIdleBytes, baselineRssBytes: subscribed.baselineRssBytes},
    ...st,
    cpu,
    broadcast,
    tls: tlsResult,
    host: hostInfo(),
    nodeFlags: [...(spec.nodeFlags ?? BROKER_NODE_FLAGS)],
  }
}

/** Writes `text` to a fresh temp file (the plan's configuration for --verify); returns its path and a remover. */
export function tempFile(name: string, text: string): {path: string; remove: () => void} {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-verify-'))
  const path = join(dir, name)
  writeFileSync(path, text)
  return {path, remove: () => rmSync(dir, {recursive: true, force: true})}
}
