/** src/bench/runtime-profile.ts: a Measurement -> per-unit figures, each one subtraction and one division, checked by hand. */
import {describe, expect, it} from 'vitest'
import type {Measurement, MeasureSpec} from '../../src/bench/measure.js'
import {figuresFrom, profileFrom} from '../../src/bench/runtime-profile.js'
import {packageVersion} from '../../src/paths.js'
import {validateRuntimeProfile} from '../../src/sizing/runtime-profile.js'

const m: Measurement = {
  baselineRssBytes: 50e6,
  connections: {count: 1000, rssAfterStormBytes: 56e6, rssIdleBytes: 54e6, cpuMillis: 200, subsAfter: 2, rssSubscribedBytes: 54.4e6},
  subscribed: {count: 1000, subsPerConnection: 2, rssAfterStormBytes: 57e6, rssIdleBytes: 55e6, baselineRssBytes: 50.5e6},
  retained: {count: 500, payloadBytes: 100, rssGrowthBytes: 200_000},
  queued: {count: 1000, payloadBytes: 100, rssGrowthBytes: 400_000},
  cpu: {rate: 5000, payloadBytes: 100, qos: 1, inOnlyPercent: 10, inOnlyRate: 5000, pairsPercent: 25, pairsRate: 5000},
  broadcast: {subscribers: 1000, p50Ms: 4, cpuMillis: 10, deliveries: 5000},
  tls: {count: 100, rssAfterStormBytes: 52e6, rssIdleBytes: 51e6, baselineRssBytes: 50e6, cpuMillis: 50},
  ws: {count: 100, rssIdleBytes: 50.9e6, baselineRssBytes: 50e6},
  host: {name: 'h1', cpu: 'Test CPU', cores: 4, memoryBytes: 8e9, os: 'linux 6.1', node: 'v20.19.0'},
  nodeFlags: ['--max-semi-space-size=2'],
}

describe('figuresFrom', () => {
  it('every figure from its formula', () => {
    expect(figuresFrom(m)).toEqual({
      baselineRssBytes: 50e6,
      bytesPerConnectionIdle: 4000, // (54 MB − 50 MB) / 1,000
      bytesPerConnectionStorm: 6000, // (56 MB − 50 MB) / 1,000
      bytesPerSubscriptionIdle: 200, // (54.4 MB − 54 MB) / (1,000 × 2)
      bytesPerSubscriptionStorm: 250, // ((57 − 50.5 MB) − 6,000 × 1,000) / 2,000
      bytesPerQueuedMessage: 300, // 400 KB / 1,000 − 100 B payload
      bytesPerRetainedMessage: 300, // 200 KB / 500 − 100 B payload
      cpuMicrosPerMessageIn: 20, // 10 % of a second / 5,000 msg/s
      cpuMicrosPerDeliveryOut: 30, // 25 % / 5,000 − 20
      cpuMicrosPerConnect: 200, // 200 ms / 1,000
      broadcastMicrosPerSubscriber: 2, // 10 ms / 5,000 deliveries
      bytesPerTlsConnectionExtra: 6000, // (51 − 50 MB) / 100 − 4,000
      cpuMicrosPerTlsConnect: 500, // 50 ms / 100
      bytesPerWebSocketConnectionExtra: 5000, // (50.9 − 50 MB) / 100 − 4,000
    })
  })

  it('a reading that went down (V8 returned memory) is 0, never negative', () => {
    const shrunk: Measurement = {...m, connections: {...m.connections, rssIdleBytes: 49e6, rssSubscribedBytes: 48e6}, queued: {...m.queued, rssGrowthBytes: -5000}, ws: {...m.ws!, rssIdleBytes: 49e6}}
    const f = figuresFrom(shrunk)
    expect(f.bytesPerConnectionIdle).toBe(0)
    expect(f.bytesPerSubscriptionIdle).toBe(0)
    expect(f.bytesPerQueuedMessage).toBe(0)
    expect(f.bytesPerWebSocketConnectionExtra).toBe(0)
    for (const v of Object.values(f)) if (v !== null) expect(v).toBeGreaterThanOrEqual(0)
  })

  it('no retained messages measured: 0 instead of 0/0; no TLS or WebSocket step: null', () => {
    const f = figuresFrom({...m, retained: {count: 0, payloadBytes: 100, rssGrowthBytes: 0}, tls: null, ws: null})
    expect(f.bytesPerRetainedMessage).toBe(0)
    expect(f.bytesPerTlsConnectionExtra).toBeNull()
    expect(f.cpuMicrosPerTlsConnect).toBeNull()
    expect(f.bytesPerWebSocketConnectionExtra).toBeNull()
  })

  it('rounds CPU figures to 0.001 µs and per-connect to 0.1 µs', () => {
    const f = figuresFrom({...m, cpu: {...m.cpu, inOnlyPercent: 10, inOnlyRate: 3000}, connections: {...m.connections, cpuMillis: 123.456}})
    expect(f.cpuMicrosPerMessageIn).toBe(33.333)
    expect(f.cpuMicrosPerConnect).toBe(123.5)
  })
})

describe('profileFrom', () => {
  const spec = {connections: 1000, subsPerConnection: 2, payloadBytes: 100, qos: 1, msgRate: 5000, broadcastSubscribers: 1000, queuedMessages: 1000, retainedMessages: 500, tlsConnections: 100, settleMs: 500} as MeasureSpec
  const at = new Date('2026-12-03T12:00:00Z')

  it('a host profile plan accepts: host, command, workload as measured, the figures and this package\'s version', () => {
    const p = profileFrom(m, spec, 'host', 'mqttctl bench calibrate --connections 1000', at)
    expect(p).toMatchObject({
      profileVersion: 1,
      kind: 'host',
      measuredAt: '2026-12-03T12:00:00.000Z',
      host: {name: 'h1', cpu: 'Test CPU', cores: 4, memoryBytes: 8e9, os: 'linux 6.1'},
      node: 'v20.19.0',
      mqttctl: packageVersion(),
      nodeFlags: ['--max-semi-space-size=2'],
      command: 'mqttctl bench calibrate --connections 1000',
      workload: {connections: 1000, subsPerConnection: 2, payloadBytes: 100, qos: 1, msgRate: 5000, broadcastSubscribers: 1000, queuedMessages: 1000, retainedMessages: 500, tlsConnections: 100},
      notMeasured: {},
    })
    expect(p.figures).toEqual(figuresFrom(m))
    expect(validateRuntimeProfile(JSON.parse(JSON.stringify(p)), 'test')).toEqual(p)
  })

  it('says why a step was not measured', () => {
    const p = profileFrom({...m, tls: null, ws: null, wsSkipped: 'this runtime has no WebSocket listener to measure'}, {...spec, tlsConnections: 0}, 'shipped', 'x', at)
    expect(p.notMeasured).toEqual({
      bytesPerWebSocketConnectionExtra: 'this runtime has no WebSocket listener to measure',
      bytesPerTlsConnectionExtra: 'TLS step skipped (0 TLS connections asked)',
      cpuMicrosPerTlsConnect: 'TLS step skipped (0 TLS connections asked)',
    })
    expect(p.workload.tlsConnections).toBe(0)
    expect(profileFrom({...m, ws: null}, spec, 'host', 'x', at).notMeasured.bytesPerWebSocketConnectionExtra).toBe('WebSocket step skipped (0 connections asked)')
  })
})
