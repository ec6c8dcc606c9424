/**
 * Cluster probe (issue 15's performance questions): the suite's scale-out scenarios
 * (src/bench/suite/cluster.ts) on their own, without Mosquitto or the rest of `npm run bench`.
 * Everything on 127.0.0.1; nats-server and the brokers are started and stopped by the scenarios.
 *
 *   node --import tsx bench/probe/cluster.ts [--seconds 5] [--pairs 50] [--workers 2] [--scenario cluster,workers]
 *
 *   cluster   two nodes over one nats-server: QoS 0 pairs same-node (all on A) and cross-node
 *             (publishers on A, subscribers on B); msg/s and CPU per message of A, B, nats-server
 *   workers   `--workers 1` against `--workers N` through one port
 * The plain single process is the suite's `pairs` scenario (`mqttctl bench suite --only pairs`).
 */
import {parseArgs} from 'node:util'
import {CLUSTER_SCENARIOS, clusterSkipReason} from '../../src/bench/suite/cluster.js'
import {FULL} from '../../src/bench/suite/scenarios.js'

const {values} = parseArgs({
  options: {
    seconds: {type: 'string', default: '5'},
    pairs: {type: 'string', default: '50'},
    workers: {type: 'string', default: '2'},
    scenario: {type: 'string', default: 'cluster,workers'},
  },
})
const int = (name: string, v: string, min: number, max: number): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} ${JSON.stringify(v)} is not allowed: an integer ${min}..${max}`)
  return n
}
const scale = {...FULL, seconds: int('seconds', values.seconds!, 1, 600), clusterPairs: int('pairs', values.pairs!, 1, 10_000)}
const workers = int('workers', values.workers!, 2, 64)
const ids = values.scenario!.split(',').filter(Boolean)
const unknown = ids.filter((id) => !CLUSTER_SCENARIOS.some((s) => s.id === id))
if (unknown.length > 0) throw new Error(`--scenario ${unknown.join(',')} is not allowed: one or more of ${CLUSTER_SCENARIOS.map((s) => s.id).join(', ')}`)
const skip = clusterSkipReason()
if (skip) throw new Error(skip)

console.log(`cluster probe: ${scale.clusterPairs} QoS 0 pairs, 64-byte payloads, ${scale.seconds} s windows, ${new Date().toISOString()}`)
for (const s of CLUSTER_SCENARIOS.filter((x) => ids.includes(x.id))) {
  const m = await s.run({scale, workers})
  console.log(`${s.id}: ${s.title}`)
  for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(26)} ${v ?? '-'}`)
}
