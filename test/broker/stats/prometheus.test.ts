import {describe, expect, it} from 'vitest'
import {prometheusText} from '../../../src/broker/stats/prometheus.js'
import {filledSnapshot} from './fixtures.js'
import {parsePrometheus} from './parse-prometheus.js'

describe('Prometheus text', () => {
  const text = prometheusText({...filledSnapshot(), heapLimitBytes: 1_200_000_000})
  const parsed = parsePrometheus(text)

  it('parses: every sample has HELP and TYPE, counters end in _total', () => {
    expect(text.endsWith('\n')).toBe(true)
    for (const [name, family] of parsed) {
      expect(family.help, name).toBeTruthy()
      expect(['counter', 'gauge']).toContain(family.type)
      if (family.type === 'counter') expect(name).toMatch(/_total$/)
      expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
      expect(family.samples.length).toBeGreaterThan(0)
    }
  })

  it('carries the figures', () => {
    const v = (name: string, labels: Record<string, string> = {}) => {
      const sample = parsed.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
      return sample?.value
    }
    expect(v('mqtt_broker_connections')).toBe(123_400)
    expect(v('mqtt_broker_connections_max')).toBe(1_000_000)
    expect(v('mqtt_broker_connections_total')).toBe(200_000)
    expect(v('mqtt_broker_messages_received_total', {qos: '0'})).toBe(900_000)
    expect(v('mqtt_broker_messages_received_total', {qos: '2'})).toBe(10_000)
    expect(v('mqtt_broker_messages_sent_total', {qos: '1'})).toBe(400_000)
    expect(v('mqtt_broker_bytes_received_total')).toBe(123_456_789)
    expect(v('mqtt_broker_bytes_sent_total')).toBe(2_345_678_901)
    expect(v('mqtt_broker_sessions_orphan')).toBe(42)
    expect(v('mqtt_broker_match_cache_hit_ratio')).toBe(0.992)
    expect(v('mqtt_broker_uptime_seconds')).toBe(3723)
    expect(v('mqtt_broker_info', {version: 'mqttctl 0.1.0'})).toBe(1)
    expect(v('process_resident_memory_bytes')).toBe(1_300_000_000)
    expect(v('process_cpu_seconds_total')).toBe(1234.5)
    expect(v('nodejs_heap_size_used_bytes')).toBe(800_000_000)
    expect(v('nodejs_heap_size_limit_bytes')).toBe(1_200_000_000)
    expect(v('mqtt_broker_acl_denied_total', {operation: 'deliver'})).toBe(0)
    expect(parsed.get('mqtt_broker_acl_denied_total')?.samples.map((s) => s.labels.operation)).toEqual(['publish', 'subscribe', 'deliver'])
    expect(parsed.get('mqtt_broker_store_fsync_seconds')?.samples.map((s) => s.labels.quantile)).toEqual(['0.5', '0.99'])
    expect(parsed.get('mqtt_broker_connections_total')?.type).toBe('counter')
    expect(parsed.get('mqtt_broker_connections')?.type).toBe('gauge')
  })
})
