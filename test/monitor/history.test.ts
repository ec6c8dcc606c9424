import {describe, expect, it} from 'vitest'
import {History} from '../../src/monitor/history.js'
import type {MonitorSnapshot} from '../../src/monitor/snapshot.js'
import {snapshotFromTopics, tickKey} from '../../src/monitor/snapshot.js'

const snap = (time: number, figures: MonitorSnapshot['figures'], loads: MonitorSnapshot['loads'] = {}): MonitorSnapshot => ({time, figures, loads})

describe('History', () => {
  it('computes per-second rates from counter deltas over the broker clock', () => {
    const h = new History()
    h.push(snap(0, {messagesReceived: 100, bytesReceived: 1000, connectionsTotal: 3}))
    const p = h.push(snap(5000, {messagesReceived: 600, bytesReceived: 6000, connectionsTotal: 13}))
    expect(p.rates.messagesIn).toBe(100)
    expect(p.rates.bytesIn).toBe(1000)
    expect(p.rates.connects).toBe(2)
    expect(p.rates.messagesOut).toBeNull()
  })

  it("falls back to the 1-minute load / 60 before a second tick, and to uptime without a timestamp", () => {
    const h = new History()
    const first = h.push(snap(1000, {messagesReceived: 5}, {'publish/received': {'1min': 120}}))
    expect(first.rates.messagesIn).toBe(2)
    // Mosquitto: no timestamp topic, both received at the "same" time; uptime moved 10 s.
    h.push(snap(0, {messagesReceived: 0, uptimeSeconds: 10}))
    const p = h.push(snap(0, {messagesReceived: 50, uptimeSeconds: 20}))
    expect(p.rates.messagesIn).toBe(5)
  })

  it('keeps at most `capacity` points', () => {
    const h = new History(3)
    for (let i = 0; i < 5; i++) h.push(snap(i * 1000, {messagesReceived: i}))
    expect(h.points.map((p) => p.snapshot.figures.messagesReceived)).toEqual([2, 3, 4])
  })
})

describe('snapshotFromTopics', () => {
  it('reads our names and Mosquitto payloads, ignoring unknown topics', () => {
    const topics = new Map([
      ['$SYS/broker/version', 'mosquitto version 2.0.11'],
      ['$SYS/broker/uptime', '42 seconds'],
      ['$SYS/broker/clients/connected', '7'],
      ['$SYS/broker/load/publish/received/1min', '12.50'],
      ['$SYS/broker/store/messages/bytes', '151'],
    ])
    const s = snapshotFromTopics(topics, 1234)
    expect(s).toEqual({
      time: 1234,
      version: 'mosquitto version 2.0.11',
      figures: {uptimeSeconds: 42, connectionsLive: 7},
      loads: {'publish/received': {'1min': 12.5}},
    })
    expect(tickKey(topics)).toBe('42 seconds')
    topics.set('$SYS/broker/mqttctl/timestamp', '1761316200000')
    expect(snapshotFromTopics(topics, 1234).time).toBe(1761316200000)
    expect(tickKey(topics)).toBe('1761316200000')
  })
})
