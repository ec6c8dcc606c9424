/**
 * A Measurement (src/bench/measure.ts) → the runtime profile plan reads (src/sizing/runtime-profile.ts):
 * each per-unit figure is one subtraction and one division, written out here so --explain can say
 * what it was.
 */
import type {RuntimeFigures, RuntimeProfile} from '../sizing/runtime-profile.js'
import {packageVersion} from '../paths.js'
import type {Measurement, MeasureSpec} from './measure.js'

const r1 = (x: number) => Math.round(x * 10) / 10
const r3 = (x: number) => Math.round(x * 1000) / 1000
const pos = (x: number) => Math.max(0, x)

export function figuresFrom(m: Measurement): RuntimeFigures {
  const c = m.connections
  const s = m.subscribed
  const connIdle = (c.rssIdleBytes - m.baselineRssBytes) / c.count
  const connStorm = (c.rssAfterStormBytes - m.baselineRssBytes) / c.count
  const subs = s.count * s.subsPerConnection
  // Settled: the same connections before and after subscribing, on one broker.
  const subIdle = (c.rssSubscribedBytes - c.rssIdleBytes) / (c.count * c.subsAfter)
  // Right after a storm that connects and subscribes at once: what that storm holds beyond the plain one's.
  const subStorm = ((s.rssAfterStormBytes - s.baselineRssBytes) - connStorm * s.count) / subs
  const inMicros = ((m.cpu.inOnlyPercent / 100) * 1e6) / m.cpu.inOnlyRate
  const pairMicros = ((m.cpu.pairsPercent / 100) * 1e6) / m.cpu.pairsRate
  const tls = m.tls
  return {
    baselineRssBytes: m.baselineRssBytes,
    bytesPerConnectionIdle: Math.round(pos(connIdle)),
    bytesPerConnectionStorm: Math.round(pos(connStorm)),
    bytesPerSubscriptionIdle: Math.round(pos(subIdle)),
    bytesPerSubscriptionStorm: Math.round(pos(subStorm)),
    bytesPerQueuedMessage: Math.round(pos(m.queued.rssGrowthBytes / m.queued.count - m.queued.payloadBytes)),
    bytesPerRetainedMessage: m.retained.count > 0 ? Math.round(pos(m.retained.rssGrowthBytes / m.retained.count - m.retained.payloadBytes)) : 0,
    cpuMicrosPerMessageIn: r3(pos(inMicros)),
    cpuMicrosPerDeliveryOut: r3(pos(pairMicros - inMicros)),
    cpuMicrosPerConnect: r1(pos((c.cpuMillis * 1000) / c.count)),
    // Broker CPU per delivery during the broadcasts: the time a broadcast takes on a core of its own (one
    // event loop, CPU-bound); the wall time measured beside the generator on a shared host is longer.
    broadcastMicrosPerSubscriber: r3(pos((m.broadcast.cpuMillis * 1000) / m.broadcast.deliveries)),
    bytesPerTlsConnectionExtra: tls ? Math.round(pos((tls.rssIdleBytes - tls.baselineRssBytes) / tls.count - connIdle)) : null,
    cpuMicrosPerTlsConnect: tls ? r1(pos((tls.cpuMillis * 1000) / tls.count)) : null,
    bytesPerWebSocketConnectionExtra: m.ws ? Math.round(pos((m.ws.rssIdleBytes - m.ws.baselineRssBytes) / m.ws.count - connIdle)) : null,
  }
}

export function profileFrom(m: Measurement, spec: MeasureSpec, kind: RuntimeProfile['kind'], command: string, now = new Date()): RuntimeProfile {
  const notMeasured: Record<string, string> = {}
  if (!m.ws) notMeasured.bytesPerWebSocketConnectionExtra = m.wsSkipped ?? 'WebSocket step skipped (0 connections asked)'
  if (!m.tls) {
    notMeasured.bytesPerTlsConnectionExtra = 'TLS step skipped (0 TLS connections asked)'
    notMeasured.cpuMicrosPerTlsConnect = notMeasured.bytesPerTlsConnectionExtra
  }
  return {
    profileVersion: 1,
    kind,
    measuredAt: now.toISOString(),
    host: {name: m.host.name, cpu: m.host.cpu, cores: m.host.cores, memoryBytes: m.host.memoryBytes, os: m.host.os},
    node: m.host.node,
    mqttctl: packageVersion(),
    nodeFlags: m.nodeFlags,
    command,
    workload: {
      connections: spec.connections,
      subsPerConnection: m.subscribed.subsPerConnection,
      payloadBytes: spec.payloadBytes,
      qos: spec.qos,
      msgRate: spec.msgRate,
      broadcastSubscribers: spec.broadcastSubscribers,
      queuedMessages: m.queued.count,
      retainedMessages: spec.retainedMessages,
      tlsConnections: m.tls ? m.tls.count : 0,
    },
    figures: figuresFrom(m),
    notMeasured,
  }
}
