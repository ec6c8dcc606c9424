import {describe, expect, it} from 'vitest'
import {LoadAverages} from '../../../src/broker/stats/loads.js'
import {SYS_TIMESTAMP_TOPIC, SYS_TOPICS, sysMessages} from '../../../src/broker/stats/sys-topics.js'
import {filledSnapshot} from './fixtures.js'

describe('$SYS topics', () => {
  it("uses Mosquitto's names and payload formats", () => {
    const snap = {...filledSnapshot(), heapLimitBytes: 1_200_000_000}
    const topics = new Map(sysMessages(snap, new LoadAverages().values))
    expect(topics.get('$SYS/broker/version')).toBe('mqttctl 0.1.0')
    expect(topics.get('$SYS/broker/uptime')).toBe('3723 seconds')
    expect(topics.get('$SYS/broker/clients/connected')).toBe('123400')
    expect(topics.get('$SYS/broker/clients/maximum')).toBe('123456')
    expect(topics.get('$SYS/broker/clients/disconnected')).toBe('42')
    expect(topics.get('$SYS/broker/clients/total')).toBe('123442')
    expect(topics.get('$SYS/broker/messages/received')).toBe('1300000')
    expect(topics.get('$SYS/broker/publish/messages/received')).toBe('1000000')
    expect(topics.get('$SYS/broker/publish/messages/sent')).toBe('2500000')
    expect(topics.get('$SYS/broker/publish/messages/dropped')).toBe('12')
    expect(topics.get('$SYS/broker/bytes/received')).toBe('123456789')
    expect(topics.get('$SYS/broker/bytes/sent')).toBe('2345678901')
    expect(topics.get('$SYS/broker/subscriptions/count')).toBe('150000')
    expect(topics.get('$SYS/broker/retained messages/count')).toBe('321')
    expect(topics.get('$SYS/broker/load/messages/received/1min')).toBe('0.00')
    expect(topics.get('$SYS/broker/load/connections/15min')).toBe('0.00')
    expect(topics.get('$SYS/broker/mqttctl/clients/limit')).toBe('1000000')
    expect(topics.get('$SYS/broker/mqttctl/cache/hit-ratio')).toBe('0.9920')
    expect(topics.get('$SYS/broker/mqttctl/process/cpu/percent')).toBe('37.25')
    expect(topics.get('$SYS/broker/mqttctl/process/heap/used')).toBe('800000000')
    expect(topics.get('$SYS/broker/mqttctl/process/heap/limit')).toBe('1200000000')
    expect(topics.get('$SYS/broker/mqttctl/publish/received/qos2')).toBe('10000')
    expect(topics.get('$SYS/broker/mqttctl/publish/sent/qos1')).toBe('400000')
    expect(topics.get("$SYS/broker/mqttctl/store/fsync-p99-ms")).toBe(snap.storeFsyncP99Ms.toFixed(2))
    expect(topics.get(SYS_TIMESTAMP_TOPIC)).toBe(String(snap.time))
  })

  it('publishes the timestamp last and every topic once', () => {
    const messages = sysMessages(filledSnapshot(), new LoadAverages().values)
    expect(messages.at(-1)?.[0]).toBe(SYS_TIMESTAMP_TOPIC)
    expect(new Set(messages.map(([t]) => t)).size).toBe(messages.length)
    expect(messages.length).toBe(1 + SYS_TOPICS.length + 8 * 3 + 1)
  })
})

describe('load averages', () => {
  it('converge on the per-minute rate, the 1 min window fastest', () => {
    const loads = new LoadAverages()
    const counters = (n: number) => ({
      'messages/received': n,
      'messages/sent': 0,
      'publish/received': n,
      'publish/sent': 0,
      'publish/dropped': 0,
      'bytes/received': 0,
      'bytes/sent': 0,
      connections: 0,
    })
    loads.update(counters(0), 0)
    // 10 messages per second = 600 per minute, for 10 minutes of 5 s ticks
    for (let i = 1; i <= 120; i++) loads.update(counters(i * 50), i * 5000)
    const v = loads.values['publish/received']
    expect(v['1min']).toBeCloseTo(600, 0)
    expect(v['5min']).toBeGreaterThan(v['15min'])
    expect(v['15min']).toBeGreaterThan(0)
    expect(v['5min']).toBeLessThan(600)
  })
})
