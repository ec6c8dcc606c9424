/** src/sizing/cluster-report.ts: plan's "Scale-out" section and its --explain rows, from real topologies. */
import {describe, expect, it} from 'vitest'
import {clusterTopology} from '../../src/sizing/cluster.js'
import {explainTopology, renderTopology} from '../../src/sizing/cluster-report.js'
import {resolveWorkload, shippedProfile, tierByName} from '../../src/sizing/index.js'

const profile = shippedProfile()
const topo = (input: Parameters<typeof resolveWorkload>[0], nodes = 1) => clusterTopology(profile, resolveWorkload(input), nodes, tierByName('large'))
// eslint-disable-next-line no-control-regex
const plain = (lines: string[]) => lines.join('\n').replace(/\x1b\[[0-9;]*m/g, '')

describe('renderTopology', () => {
  it('one process: says so and how to go past one core, nothing about NATS', () => {
    const text = plain(renderTopology(topo({devices: 5000, msgRate: 1000}), 80))
    expect(text).toContain('Scale-out')
    expect(text).toContain('1 (one process, no NATS)')
    expect(text).not.toContain('NATS servers')
  })

  it('one node with workers: the worker count, a local nats-server, and the start command to run', () => {
    const t = topo({devices: 500_000, msgRate: 100_000})
    const text = plain(renderTopology(t, 100))
    expect(text).toContain(`1 node × ${t.workersPerNode} workers = ${t.workersPerNode}`)
    expect(text).toContain(`--workers ${t.workersPerNode}`)
    expect(text).toContain('1, on the node (start --workers starts it)')
    expect(text).toContain(`mqttctl start --workers ${t.workersPerNode} runs the workers and the local nats-server`)
  })

  it('several nodes: three NATS servers on their own hosts, JetStream replicas, and the build command', () => {
    const t = topo({devices: 3_000_000, msgRate: 50_000, retained: 100_000}, 4)
    const text = plain(renderTopology(t, 100))
    expect(text).toContain('4 nodes × ')
    expect(text).toContain('3, a NATS cluster on their own hosts')
    expect(text).toMatch(/JetStream replicas\s+3/)
    expect(text).toContain(`mqttctl build --nodes 4${t.workersPerNode > 1 ? ` --workers ${t.workersPerNode}` : ''}`)
  })

  it('keeps to the width it is given', () => {
    const t = topo({devices: 3_000_000, msgRate: 150_000, retained: 100_000, qos: 1}, 4)
    for (const width of [80, 100]) for (const line of plain(renderTopology(t, width)).split('\n')) expect(line.length, line).toBeLessThanOrEqual(width)
  })
})

describe('explainTopology', () => {
  it('one row per figure, named as --json names it, each with a formula and a source', () => {
    const t = topo({devices: 3_000_000, msgRate: 50_000, retained: 100_000}, 4)
    const rows = explainTopology(t)
    const names = rows.map((r) => r.figure)
    expect(names).toEqual(expect.arrayContaining(['topology.cpu.crossMicros', 'topology.workersPerNode', 'topology.nats.servers', 'topology.nats.jetStream.storeBytesPerServer']))
    for (const r of rows) {
      expect(r.formula.length, r.figure).toBeGreaterThan(0)
      expect(r.source.length, r.figure).toBeGreaterThan(0)
    }
    expect(rows.find((r) => r.figure === 'topology.workersPerNode')!.value).toBe(String(t.workersPerNode))
  })

  it('no NATS rows for one process, and "no --msg-rate" said when there is no rate', () => {
    const rows = explainTopology(topo({devices: 5000}))
    expect(rows.some((r) => r.figure.startsWith('topology.nats'))).toBe(false)
    expect(rows.find((r) => r.figure === 'topology.workersPerNode')!.formula).toBe('no --msg-rate: one process per node')
  })
})
