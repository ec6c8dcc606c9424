import {describe, expect, it} from 'vitest'
import {FrameReader} from '../../src/bench/frames.js'
import {Histogram} from '../../src/bench/histogram.js'
import {assertLoopback, BenchUsageError, isLoopbackAddress, normalize, parseUrl} from '../../src/bench/options.js'
import {publishTemplate} from '../../src/bench/packets.js'
import {slices, type BenchResult} from '../../src/bench/index.js'
import {progressLine, summary} from '../../src/bench/render.js'
import {median, verdicts, type SuiteResults} from '../../src/bench/suite/report.js'

describe('FrameReader', () => {
  it('splits frames cut anywhere across chunks, including inside the length varint', () => {
    const o = normalize('pubsub', {size: 200})
    const frame = publishTemplate(o, 'a/b', 1).frame // remaining length > 127: two varint bytes
    const stream = Buffer.concat([frame, Buffer.from([0x40, 2, 0, 7]), frame])
    for (let cut = 1; cut < stream.length; cut++) {
      const seen: string[] = []
      const r = new FrameReader((type, _f, _b, s, e) => seen.push(`${type}:${e - s}`))
      r.feed(stream.subarray(0, cut))
      r.feed(stream.subarray(cut))
      expect(seen).toEqual([`3:${frame.length - 3}`, '4:2', `3:${frame.length - 3}`])
    }
  })
})

describe('publishTemplate', () => {
  it('locates the packet id and payload for QoS 1 and MQTT 5', () => {
    const o = normalize('pubsub', {protocol: 5, qos: 1})
    const t = publishTemplate(o, 'x/1', 4)
    expect(t.frame.readUInt16BE(t.pidOffset)).toBe(1)
    expect(t.frame[t.pidOffset + 2]).toBe(0) // empty MQTT 5 properties
    expect(t.payloadOffset).toBe(t.pidOffset + 3)
    expect(t.repeated.length).toBe(4 * t.frame.length)
  })
})

describe('Histogram', () => {
  it('percentiles within 2 %, exact max, mergeable', () => {
    const a = new Histogram()
    const b = new Histogram()
    for (let i = 1; i <= 10_000; i++) (i % 2 ? a : b).record(i * 10)
    a.merge(b.toJSON())
    expect(a.count).toBe(10_000)
    expect(a.percentile(50)).toBeGreaterThan(50_000 * 0.98)
    expect(a.percentile(50)).toBeLessThan(50_000 * 1.02)
    expect(a.summary()?.max).toBe(100)
  })
})

describe('options', () => {
  it('refuses non-loopback targets unless allowed', async () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true)
    expect(isLoopbackAddress('127.8.9.10')).toBe(true)
    expect(isLoopbackAddress('::1')).toBe(true)
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true)
    expect(isLoopbackAddress('10.0.0.1')).toBe(false)
    await expect(assertLoopback('10.1.2.3', false)).rejects.toThrow(/--allow-remote/)
    await expect(assertLoopback('localhost', false)).resolves.toBeUndefined()
    await expect(assertLoopback('10.1.2.3', true)).resolves.toBeUndefined()
  })

  it('every run is bounded; sizes carry the timestamp', () => {
    expect(() => normalize('pub', {duration: 0, count: 0})).toThrow(BenchUsageError)
    expect(() => normalize('conn', {duration: 0})).toThrow(BenchUsageError)
    expect(() => normalize('pub', {size: 4})).toThrow(/at least 12/)
    expect(normalize('pubsub', {clients: 3}).subscribers).toBe(3)
    expect(normalize('pub', {clients: 4, interval: 10}).rate).toBe(400)
  })

  it('sub: -c is the number of subscribers (found by QA: `bench sub` connected none and exited 1)', () => {
    expect(normalize('sub', {}).subscribers).toBe(10)
    expect(normalize('sub', {clients: 3})).toMatchObject({clients: 3, subscribers: 3})
    expect(slices(normalize('sub', {clients: 5, workers: 2})).map((s) => s.subTo - s.subFrom)).toEqual([2, 3])
    expect(normalize('pub', {clients: 3}).subscribers).toBe(0)
  })

  it('parses mqtt:// and mqtts:// URLs', () => {
    expect(parseUrl('mqtts://u:p%40ss@localhost')).toMatchObject({host: 'localhost', port: 8883, tls: true, username: 'u', password: 'p@ss'})
    expect(parseUrl('mqtt://127.0.0.1:1999')).toMatchObject({port: 1999, tls: false})
  })

  it('slices clients over workers, pairs aligned, the fanout publisher once', () => {
    const s = slices(normalize('pubsub', {clients: 10, workers: 3, rate: 1000}))
    expect(s.map((x) => [x.from, x.to, x.subFrom, x.subTo])).toEqual([[0, 3, 0, 3], [3, 6, 3, 6], [6, 10, 6, 10]])
    expect(s.reduce((a, x) => a + x.rate, 0)).toBeCloseTo(1000)
    const f = slices(normalize('fanout', {clients: 10, workers: 2}))
    expect(f.map((x) => x.publisher)).toEqual([true, false])
  })
})

describe('suite report', () => {
  it('medians and verdicts: ratio targets, absolute bounds, lost messages fail a target', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([1, 2, 3, 4])).toBe(2.5)
    const run = (broker: 'ours' | 'mosquitto', round: number, msgsPerSec: number, lost = 0) => ({scenario: 'fanin', broker, round, metrics: {msgsPerSec, lost}})
    const r = {
      scenarios: [{id: 'fanin', title: ''}, {id: 'idle-sub', title: ''}],
      runs: [run('ours', 1, 300), run('ours', 2, 320), run('ours', 3, 1, 5), run('mosquitto', 1, 100), run('mosquitto', 2, 100),
        {scenario: 'idle-sub', broker: 'ours', round: 1, metrics: {bytesPerConn: 5000}}],
    } as unknown as SuiteResults
    const v = verdicts(r)
    const fanin = v.find((x) => x.target.scenario === 'fanin')!
    expect(fanin).toMatchObject({ours: 300, mosquitto: 100, ratio: 3, met: true})
    expect(v.find((x) => x.target.scenario === 'idle-sub')).toMatchObject({met: false, gap: '5000 > 4096'})
  })
})

describe('render', () => {
  // Found by QA: at 80 columns the summary head ran to 85 characters and the progress line wrapped,
  // so every \r update scrolled a new row; "1 publishers".
  const result: BenchResult = {
    mode: 'latency', target: 'mqtt://127.0.0.1:18831', protocol: 4, qos: 0, size: 64, clients: 1, subscribers: 1, workers: 1,
    connect: {attempted: 2, connected: 2, failed: 0, seconds: 0.01, perSecond: 200},
    messages: {sent: 1_000_000, received: 1_000_000, expected: 1_000_000, lost: 0, acked: 0},
    rates: {sentPerSecond: 100_000, receivedPerSecond: 100_000, measuredSeconds: 10},
    latencyMs: {count: 1_000_000, p50: 0.278, p95: 6.56, p99: 22.1, max: 142, mean: 1},
    broadcasts: null, probeMs: null, errors: {count: 0, messages: {}},
    generator: {cpuPercent: 5.3, userMs: 1, systemMs: 1, wallSeconds: 10, processes: 1},
    broker: {pid: 4242, cpuPercent: 12.5, rssBytes: 100_000_000},
  }

  it('the summary fits 80 columns and counts in the singular when it is one', () => {
    const text = summary(result, 80)
    expect(text).toMatch(/^bench latency → mqtt:\/\/127\.0\.0\.1:18831 +\(1 publisher, 1 subscriber,/)
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80)
  })

  it('the progress line of a large run fits one 80-column row', () => {
    const line = progressLine()({phase: 'connecting', connected: 150_000, connectFailed: 0, sent: 123_456_789, received: 123_456_789, errors: 0})
    expect(line.length, line).toBeLessThan(80)
  })
})
