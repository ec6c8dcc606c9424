/** Hand-filled statistics for the pure stats tests (no broker needed). */
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import type {ProcessSample} from '../../../src/broker/stats/process.js'
import {type StatsSnapshot, takeSnapshot} from '../../../src/broker/stats/snapshot.js'

export const START = Date.parse('2025-10-24T13:00:00Z')
export const NOW = START + 3_723_000 // 1h 2m 3s later

export function filledStats(): BrokerStats {
  const s = new BrokerStats()
  s.startedAt = START
  s.maxConnections = 1_000_000
  s.connectionsLive = 123_456
  s.connectionsLive = 123_400 // peak stays at 123,456
  s.connectionsTotal = 200_000
  s.connectionsRefused = 7
  s.sessionsOrphan = 42
  s.sessionsTotal = 123_442
  s.messagesReceived = 1_000_000
  s.messagesSent = 2_500_000
  s.receivedByQos = [900_000, 90_000, 10_000]
  s.sentByQos = [2_000_000, 400_000, 100_000]
  s.messagesDropped = 12
  s.messagesExpired = 3
  s.messagesQueued = 250
  s.messagesNoSubscriber = 5
  s.bytesReceived = 123_456_789
  s.bytesSent = 2_345_678_901
  s.packetsReceived = 1_300_000
  s.packetsSent = 2_700_000
  s.subscriptions = 150_000
  s.retainedMessages = 321
  s.matchCacheHits = 992
  s.matchCacheMisses = 8
  return s
}

export const PROC: ProcessSample = {
  rssBytes: 1_300_000_000,
  heapUsedBytes: 800_000_000,
  heapTotalBytes: 900_000_000,
  heapLimitBytes: 0, // unknown here (tests that need one set it; the monitor's golden dashboard has none)
  heapPeakBytes: 850_000_000,
  cpuSecondsTotal: 1234.5,
  cpuPercent: 37.25,
  startTimeSeconds: START / 1000,
}

export function filledSnapshot(): StatsSnapshot {
  return takeSnapshot(filledStats(), PROC, 'mqttctl 0.1.0', NOW)
}
