import {describe, expect, it} from 'vitest'
import {formatLine} from '../../../src/broker/log.js'
import {formatDuration} from '../../../src/broker/stats/format.js'
import {statsLogLines} from '../../../src/broker/stats/stats-log.js'
import {filledSnapshot} from './fixtures.js'

describe('statistics log block', () => {
  it("has the guide's lines and formatting", () => {
    expect(statsLogLines(filledSnapshot())).toEqual([
      '=== MQTT Broker Statistics ===',
      'Uptime: 1h 2m 3s',
      'Active Connections: 123,400 / 1,000,000',
      'Total Messages: 3,500,000 (in 1,000,000, out 2,500,000)',
      'Bytes In: 123,456,789 (123 MB)',
      'Bytes Out: 2,345,678,901 (2.3 GB)',
      'Cache HIT: 99.2 %',
      'Orphan Clients: 42',
      'Process: RSS 1.3 GB, heap 800 MB, CPU 37.3 %',
    ])
  })

  it("prints with the guide's log prefix", () => {
    const line = formatLine('info', 'Active Connections: 123,456 / 1,000,000', new Date('2025-10-24T14:30:00Z'))
    expect(line).toBe('[2025-10-24T14:30:00Z] INFO: Active Connections: 123,456 / 1,000,000\n')
  })

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(59)).toBe('59s')
    expect(formatDuration(61)).toBe('1m 1s')
    expect(formatDuration(90_061)).toBe('1d 1h 1m 1s')
  })
})
