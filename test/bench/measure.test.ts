/** src/bench/measure.ts directly: every measuring step at a tiny scale against our runtime on loopback (counts and shapes, never speed). */
import {existsSync, readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {describe, expect, it} from 'vitest'
import {hostInfo, measure, type MeasureSpec, tempFile} from '../../src/bench/measure.js'
import {MeasureError} from '../../src/bench/measure-broker.js'

const spec: MeasureSpec = {
  connections: 20,
  subsPerConnection: 2,
  payloadBytes: 64,
  qos: 0,
  msgRate: 200,
  cpuSeconds: 2,
  broadcastSubscribers: 15,
  queuedMessages: 1500,
  retainedMessages: 30,
  tlsConnections: 5,
  settleMs: 0,
}

describe('measure', () => {
  it('runs each step in order on a fresh broker and reports what it drove', async () => {
    const lines: string[] = []
    const m = await measure({...spec, log: (l) => lines.push(l)})
    expect(lines).toEqual([
      'memory: 20 connections, no subscription…',
      'memory: 20 connections with 2 subscriptions each…',
      'memory: 30 retained and 1,500 queued messages of 64 B…',
      'CPU: messages in, and 1:1 pairs, at 200 msg/s…',
      'broadcast: one message to 15 subscribers, 5 times…',
      'memory: 5 TLS connections…',
      'memory: 5 WebSocket connections…',
    ])
    expect(m.baselineRssBytes).toBeGreaterThan(1_000_000)
    expect(m.connections).toMatchObject({count: 20, subsAfter: 2})
    expect(m.subscribed).toMatchObject({count: 20, subsPerConnection: 2})
    expect(m.retained).toMatchObject({count: 30, payloadBytes: 64})
    // 1,500 queued messages over sessions of at most 1,000: 2 sessions of 750.
    expect(m.queued).toMatchObject({count: 1500, payloadBytes: 64})
    expect(m.cpu).toMatchObject({rate: 200, payloadBytes: 64, qos: 0})
    expect(m.cpu.inOnlyPercent).toBeGreaterThanOrEqual(0)
    expect(m.cpu.pairsRate).toBeGreaterThan(0)
    // Five broadcasts, each to every subscriber.
    expect(m.broadcast).toMatchObject({subscribers: 15, deliveries: 75})
    expect(m.tls).toMatchObject({count: 5})
    if (m.ws) expect(m.ws.count).toBe(5)
    else expect(m.wsSkipped).toMatch(/WebSocket/)
    expect(m.host).toEqual(hostInfo())
    expect(m.nodeFlags).toEqual(['--max-semi-space-size=2'])
  }, 120_000)

  it('no TLS connections asked: neither the TLS nor the WebSocket step runs', async () => {
    const lines: string[] = []
    const m = await measure({...spec, connections: 5, tlsConnections: 0, queuedMessages: 10, retainedMessages: 0, broadcastSubscribers: 5, log: (l) => lines.push(l)})
    expect(m.tls).toBeNull()
    expect(m.ws).toBeNull()
    expect(m.wsSkipped).toBeUndefined()
    expect(lines.some((l) => /TLS|WebSocket/.test(l))).toBe(false)
    expect(m.retained.count).toBe(0)
  }, 120_000)

  it('a time limit already reached stops it with a MeasureError after the first step\'s broker', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(measure({...spec, signal: ac.signal})).rejects.toThrow(new MeasureError('stopped: the time limit was reached'))
  }, 60_000)
})

describe('measure: a CPU step too short to measure', () => {
  it.each([1, 0, Number.NaN])('cpuSeconds %s is refused before any broker starts (the 1 s warm-up would leave no window)', async (cpuSeconds) => {
    await expect(measure({...spec, cpuSeconds})).rejects.toThrow(new MeasureError(`cpuSeconds ${cpuSeconds} is not allowed: at least 2 (1 s warm-up, then the measured window)`))
  })
})

describe('hostInfo and tempFile', () => {
  it('hostInfo names this host, its CPU count and Node.js', () => {
    const h = hostInfo()
    expect(h.cores).toBe(cpus().length)
    expect(h.node).toBe(process.version)
    expect(h.memoryBytes).toBeGreaterThan(0)
    expect(h.os).toMatch(/^linux /)
  })

  it('tempFile writes a fresh file and removes its directory', () => {
    const t = tempFile('plan.json', '{"a":1}')
    expect(readFileSync(t.path, 'utf8')).toBe('{"a":1}')
    t.remove()
    expect(existsSync(t.path)).toBe(false)
  })
})
