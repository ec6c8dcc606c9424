/** A fixed run of three broker ticks, 5 s apart, for the dashboard golden test. */
import {LoadAverages} from '../../src/broker/stats/loads.js'
import {sysMessages} from '../../src/broker/stats/sys-topics.js'
import {takeSnapshot} from '../../src/broker/stats/snapshot.js'
import {History} from '../../src/monitor/history.js'
import {type MonitorSnapshot, snapshotFromTopics} from '../../src/monitor/snapshot.js'
import {filledStats, NOW, PROC} from '../broker/stats/fixtures.js'

/** Messages received per 5 s tick: a made-up but fixed load curve. */
const LOAD = [10, 12, 15, 20, 26, 30, 34, 31, 25, 18, 22, 40, 44, 38, 30, 24, 20, 17, 15, 14]

/** The snapshot the monitor reads from our broker's $SYS topics after `tick` ticks. */
export function monitorSnapshot(tick: number): MonitorSnapshot {
  const stats = filledStats()
  const sum = LOAD.slice(0, tick).reduce((a, b) => a + b, 0)
  stats.connectionsLive = 800_000 + tick * 4_000
  stats.connectionsTotal += tick * 4_100
  stats.messagesReceived += sum * 1000
  stats.messagesSent += sum * 2500
  stats.bytesReceived += sum * 100_000
  stats.bytesSent += sum * 250_000
  stats.sessionsOrphan += Math.floor(tick / 4)
  stats.matchCacheMisses += tick * 8
  stats.messagesDropped += tick >= 19 ? 4 : 0
  stats.matchCacheHits += tick * 100
  const time = NOW + tick * 5000
  stats.startedAt = NOW - 3_723_000
  // 4.5 GB for 876,000 connections (5.1 KB each): above plan's runtime estimate, so the golden shows the memory warning.
  const snap = takeSnapshot(stats, {...PROC, rssBytes: 4_500_000_000}, 'mqttctl 0.1.0', time)
  return snapshotFromTopics(new Map(sysMessages(snap, new LoadAverages().values)), time)
}

export function fixedHistory(ticks = LOAD.length): History {
  const history = new History()
  for (let i = 0; i < ticks; i++) history.push(monitorSnapshot(i))
  return history
}
