/**
 * The guide's statistics block (SIZING.md §6), logged at info on every tick:
 *
 *   [2025-10-24T14:30:00Z] INFO: === MQTT Broker Statistics ===
 *   [2025-10-24T14:30:00Z] INFO: Active Connections: 123,456 / 1,000,000
 */
import {formatBytes, formatDuration, formatInt, formatPercent} from './format.js'
import type {StatsSnapshot} from './snapshot.js'

/** The block's lines, without the log prefix. */
export function statsLogLines(s: StatsSnapshot): string[] {
  return [
    '=== MQTT Broker Statistics ===',
    `Uptime: ${formatDuration(s.uptimeSeconds)}`,
    `Active Connections: ${formatInt(s.connectionsLive)} / ${formatInt(s.connectionsMax)}`,
    `Total Messages: ${formatInt(s.messagesReceived + s.messagesSent)} (in ${formatInt(s.messagesReceived)}, out ${formatInt(s.messagesSent)})`,
    `Bytes In: ${formatInt(s.bytesReceived)} (${formatBytes(s.bytesReceived)})`,
    `Bytes Out: ${formatInt(s.bytesSent)} (${formatBytes(s.bytesSent)})`,
    `Cache HIT: ${formatPercent(s.cacheHitRatio)}`,
    `Orphan Clients: ${formatInt(s.sessionsOrphan)}`,
    `Process: RSS ${formatBytes(s.rssBytes)}, heap ${formatBytes(s.heapUsedBytes)}, CPU ${s.cpuPercent.toFixed(1)} %`,
  ]
}
