/**
 * Node.js flags every launcher of the broker runtime passes (mqttctl start, the build layout's
 * bin/mqtt-broker, the bench suite). They cannot be set from inside the process: V8 sizes its heap
 * when the isolate starts (v8.setFlagsFromString is too late for these).
 *
 * --max-semi-space-size=2: V8's young generation grows to 2 × 16 MB under a connection storm and
 * stays there; capped at 2 MB per semi-space the broker holds 10,000 idle connections with one
 * subscription each in 3.7 KB of RSS per connection instead of 5.9 KB (2.9 KB vs 3.2 KB once idle),
 * with QoS 1 and QoS 0 throughput unchanged (bench/probe/throughput.ts, alternating runs; a 1 MB
 * cap cost QoS 1 about 8 %). Measured with bench/probe/idle.ts --conns 10000.
 */
export const BROKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2']
