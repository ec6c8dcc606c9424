/**
 * Node.js flags every launcher of the broker runtime passes (mqttctl start, the build layout's
 * bin/mqtt-broker, the systemd unit, the bench suite and plan --verify): the one place they come
 * from. They cannot be set from inside the process: V8 sizes its heap when the isolate starts
 * (v8.setFlagsFromString is too late for these).
 *
 * --max-semi-space-size=2: V8's young generation grows to 2 × 16 MB under a connection storm and
 * stays there; capped at 2 MB per semi-space the broker holds 10,000 idle connections with one
 * subscription each in 3.7 KB of RSS per connection instead of 5.9 KB (2.9 KB vs 3.2 KB once idle),
 * with QoS 1 and QoS 0 throughput unchanged (bench/probe/throughput.ts, alternating runs; a 1 MB
 * cap cost QoS 1 about 8 %). Measured with bench/probe/idle.ts --conns 10000.
 *
 * --max-old-space-size=N: the V8 heap limit. V8's default is about a quarter of RAM capped near
 * 4 GB, so a large broker with offline queues dies with "JavaScript heap out of memory" long before
 * the host runs out of RAM. `mqttctl plan --write` sets `runtime.maxOldSpaceMb` from its estimate
 * (with headroom); the launchers pass it.
 */

/** The flags when no configuration says otherwise (semi-space 2 MB, V8's default heap limit). */
export const BROKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2']

/** The configuration's memory settings (src/config's `runtime`): 0 = V8's default. */
export interface NodeMemorySettings {
  maxOldSpaceMb?: number
  maxSemiSpaceMb?: number
}

/** The broker's Node.js flags for a configuration's `runtime` settings (undefined: the defaults). */
export function brokerNodeFlags(runtime?: NodeMemorySettings): string[] {
  if (!runtime) return [...BROKER_NODE_FLAGS]
  const flags: string[] = []
  const semi = runtime.maxSemiSpaceMb ?? 2
  if (semi > 0) flags.push(`--max-semi-space-size=${semi}`)
  if (runtime.maxOldSpaceMb && runtime.maxOldSpaceMb > 0) flags.push(`--max-old-space-size=${runtime.maxOldSpaceMb}`)
  return flags
}

/** True for a Node.js flag this module sets (launchers replace these, keep every other). */
export function isMemoryFlag(arg: string): boolean {
  return arg.startsWith('--max-semi-space-size=') || arg.startsWith('--max-old-space-size=')
}
