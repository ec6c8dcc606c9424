/** src/sizing/runtime.ts: the runtime estimate from a profile, checked against figures worked out by hand. */
import {describe, expect, it} from 'vitest'
import type {Workload} from '../../src/sizing/capacity.js'
import {CPU_PLAN_SHARE, MIN_HEAP_MB, OS_RESERVE_BYTES, runtimeCpu, runtimeEstimate, runtimeHeap, runtimeMemory} from '../../src/sizing/runtime.js'
import type {RuntimeProfile} from '../../src/sizing/runtime-profile.js'

const MiB = 2 ** 20
const GiB = 2 ** 30

// Round figures, so every expectation below can be checked with pencil and paper.
const profile = {
  figures: {
    baselineRssBytes: 50 * MiB,
    bytesPerConnectionIdle: 4000,
    bytesPerConnectionStorm: 6000,
    bytesPerSubscriptionIdle: 100,
    bytesPerSubscriptionStorm: 300,
    bytesPerQueuedMessage: 200,
    bytesPerRetainedMessage: 300,
    cpuMicrosPerMessageIn: 20,
    cpuMicrosPerDeliveryOut: 30,
    cpuMicrosPerConnect: 100,
    broadcastMicrosPerSubscriber: 2,
    bytesPerTlsConnectionExtra: 1000,
    cpuMicrosPerTlsConnect: 500,
    bytesPerWebSocketConnectionExtra: null,
  },
} as unknown as RuntimeProfile

const work: Workload = {devices: 10_000, live: 8000, msgRate: 1000, payloadBytes: 100, qos: 1, subsPerDevice: 2, retained: 500}

describe('runtimeMemory', () => {
  it('connections, subscriptions, retained and queued messages on top of the idle broker', () => {
    const m = runtimeMemory(profile, work)
    expect(m.baselineBytes).toBe(50 * MiB)
    expect(m.connections).toEqual({count: 8000, bytesEachIdle: 4000, bytesEachStorm: 6000, idleBytes: 32_000_000, stormBytes: 48_000_000})
    expect(m.subscriptions).toEqual({count: 16_000, bytesEachIdle: 100, bytesEachStorm: 300, idleBytes: 1_600_000, stormBytes: 4_800_000})
    expect(m.retained).toEqual({count: 500, bytesEach: 400, bytes: 200_000})
    // QoS 1 waits 2 s (ASSUMED.queueWaitSeconds): 2,000 messages of 100 + 200 bytes.
    expect(m.queue).toEqual({bytes: 600_000, bytesEach: 300, messages: 2000, source: 'msg-rate'})
    expect(m.idleBytes).toBe(50 * MiB + 32_000_000 + 1_600_000 + 200_000)
    expect(m.stormBytes).toBe(50 * MiB + 48_000_000 + 4_800_000 + 200_000)
    expect(m.totalBytes).toBe(m.stormBytes + 600_000)
  })

  it('without --msg-rate nothing is queued; the larger of idle and storm is planned', () => {
    const settledHeavier = {figures: {...profile.figures, bytesPerConnectionIdle: 9000}} as unknown as RuntimeProfile
    const m = runtimeMemory(settledHeavier, {...work, msgRate: null})
    expect(m.queue).toEqual({bytes: 0, bytesEach: 300, messages: 0, source: 'none'})
    expect(m.idleBytes).toBeGreaterThan(m.stormBytes)
    expect(m.totalBytes).toBe(m.idleBytes)
  })

  it('QoS 0 and QoS 2 wait 0.5 s and 4 s', () => {
    expect(runtimeMemory(profile, {...work, qos: 0}).queue.messages).toBe(500)
    expect(runtimeMemory(profile, {...work, qos: 2}).queue.messages).toBe(4000)
  })

  it('no live device: the idle broker alone', () => {
    const m = runtimeMemory(profile, {...work, live: 0, retained: 0, msgRate: null})
    expect(m.totalBytes).toBe(50 * MiB)
  })
})

describe('runtimeCpu', () => {
  it('percent of one core, what one process carries, processes needed and the reconnect storm', () => {
    expect(runtimeCpu(profile, work)).toEqual({
      coresUsable: 1,
      messagesInPerSecond: 1000,
      deliveriesPerSecond: 1000,
      percentOfCore: 5,
      maxDeliveriesPerSecond: 16_000,
      processesNeeded: 1,
      reconnectStormSeconds: 0.8,
    })
  })

  it('a rate beyond one process asks for more processes at CPU_PLAN_SHARE each', () => {
    const c = runtimeCpu(profile, {...work, msgRate: 1_000_000})
    expect(c.percentOfCore).toBe(5000)
    expect(c.processesNeeded).toBe(Math.ceil(5000 / (CPU_PLAN_SHARE * 100)))
    expect(c.processesNeeded).toBe(63)
    // Exactly at the share: still one process.
    expect(runtimeCpu(profile, {...work, msgRate: 16_000}).processesNeeded).toBe(1)
    expect(runtimeCpu(profile, {...work, msgRate: 16_100}).processesNeeded).toBe(2)
  })

  it('without --msg-rate: no percentage, one process', () => {
    const c = runtimeCpu(profile, {...work, msgRate: null})
    expect(c).toMatchObject({percentOfCore: null, processesNeeded: 1, messagesInPerSecond: null, deliveriesPerSecond: null})
  })
})

describe('runtimeHeap', () => {
  it('small: the minimum heap limit, RAM rounded up to whole GiB with the OS reserve', () => {
    const h = runtimeHeap(runtimeMemory(profile, work))
    expect(h.maxOldSpaceMb).toBe(MIN_HEAP_MB)
    expect(h.maxSemiSpaceMb).toBe(2)
    expect(h.nodeFlags).toEqual(['--max-semi-space-size=2', '--max-old-space-size=512'])
    expect(h.ramGiB).toBe(Math.ceil((512 * MiB + 50 * MiB + OS_RESERVE_BYTES) / GiB))
    expect(h.ramGiB).toBe(2)
  })

  it('large: 1.5 × the total, in steps of 64 MB', () => {
    // 1,000,000 storm connections of 6,000 B + 2 subscriptions of 300 B each: 6.6 GB + the idle broker.
    const m = runtimeMemory(profile, {...work, live: 1_000_000, msgRate: null, retained: 0})
    const h = runtimeHeap(m)
    const wanted = (m.totalBytes * 1.5) / MiB
    expect(h.maxOldSpaceMb % 64).toBe(0)
    expect(h.maxOldSpaceMb).toBeGreaterThanOrEqual(wanted)
    expect(h.maxOldSpaceMb - wanted).toBeLessThan(64)
    expect(h.nodeFlags).toContain(`--max-old-space-size=${h.maxOldSpaceMb}`)
    expect(h.ramGiB).toBe(Math.ceil((h.maxOldSpaceMb * MiB + 50 * MiB + GiB) / GiB))
  })
  it('rounds up, never down: 1,000 MiB planned -> 1,500 MiB wanted -> 1,536 MB (24 × 64)', () => {
    const m = {...runtimeMemory(profile, work), totalBytes: 1000 * MiB, baselineBytes: 50 * MiB}
    expect(runtimeHeap(m).maxOldSpaceMb).toBe(1536)
    expect(runtimeHeap({...m, totalBytes: 1024 * MiB}).maxOldSpaceMb).toBe(1536)
    expect(runtimeHeap({...m, totalBytes: 1024 * MiB + 1}).maxOldSpaceMb).toBe(1600)
  })
})

describe('runtimeEstimate', () => {
  it('puts the parts together with the broadcast and the TLS / WebSocket extras from the profile', () => {
    const e = runtimeEstimate(profile, work)
    expect(e.memory).toEqual(runtimeMemory(profile, work))
    expect(e.cpu).toEqual(runtimeCpu(profile, work))
    expect(e.heap).toEqual(runtimeHeap(e.memory))
    expect(e.broadcast).toEqual({subscribers: 8000, micros: 16_000})
    expect(e.tlsBytesPerConnection).toBe(1000)
    expect(e.webSocketBytesPerConnection).toBeNull()
  })
})
