/**
 * The capacity model against SIZING.md. Every figure below is typed from SIZING.md (not read from
 * src/sizing), so a wrong tier table or formula fails here.
 */
import {describe, expect, it} from 'vitest'
import {broadcast, broadcastMicros, memory} from '../../src/sizing/capacity.js'
import {explainPlan, idleExampleBytes} from '../../src/sizing/explain.js'
import {type Plan, TIERS, plan, resolveWorkload, tierByName} from '../../src/sizing/index.js'

const MB = 1e6
const GB = 1e9
/** The guide's "~" figures are read as ±15 %. */
const TOL = 0.15

// SIZING.md §1, §2, §3, §4, one row per tier. `top` is the largest fleet the tier takes (boundary rule).
const ROWS = [
  {tier: 'small', top: 9_999, broker: [10_000, 256, 1_024, 100, 'info'], cores: [2, 4], ram: [4, 8], computed: [130 * MB, 130 * MB], observed: [200 * MB, 300 * MB], cpu: [15, 20]},
  {tier: 'medium', top: 99_999, broker: [100_000, 1_024, 10_000, 1_000, 'info'], cores: [8, 16], ram: [16, 32], computed: [1.7 * GB, 1.7 * GB], observed: [2 * GB, 3 * GB], cpu: [20, 30]},
  {tier: 'large', top: 999_999, broker: [1_000_000, 4_095, 100_000, 5_000, 'warn'], cores: [32, null], ram: [64, 256], computed: [14 * GB, 17 * GB], observed: [20 * GB, 25 * GB], cpu: [60, 80]},
] as const

// SIZING.md §3 (guide §5.4): idle memory at these live connections, per tier configuration.
const IDLE = [
  {tier: 'small', devices: 9_999, live: 2_000, bytes: 30 * MB},
  {tier: 'medium', devices: 99_999, live: 20_000, bytes: 250 * MB},
  {tier: 'large', devices: 999_999, live: 100_000, bytes: 1.3 * GB},
] as const

const single = (devices: number, extra = {}): Plan & {memory: NonNullable<Plan['memory']>} => {
  const p = plan({devices, ...extra})
  expect(p.memory).not.toBeNull()
  return p as Plan & {memory: NonNullable<Plan['memory']>}
}

describe('tier table (SIZING.md §1, §2)', () => {
  it.each(ROWS)('$tier: broker figures, hardware and full-load CPU', (row) => {
    const p = single(row.top)
    expect(p.tier).toBe(row.tier)
    const {maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel} = p.broker
    expect([maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel]).toEqual(row.broker)
    expect([p.hardware.cores.min, p.hardware.cores.max]).toEqual(row.cores)
    expect([p.hardware.ramGiB.min, p.hardware.ramGiB.max]).toEqual(row.ram)
    expect(p.cpu).toMatchObject({idlePercentMax: 0.5, fullLoadPercent: {min: row.cpu[0], max: row.cpu[1]}})
  })

  it('large tier needs the guide §4.3 OS limits', () => {
    expect(single(500_000).os).toMatchObject({openFiles: 2_000_000, somaxconn: 65_535, synBacklog: 65_535, netdevBacklog: 65_535})
    expect(single(50_000).os).toMatchObject({openFiles: 200_000, somaxconn: 32_768, synBacklog: 32_768})
  })
})

describe('boundaries: a tier takes fleets below its MAX_CONNECTIONS', () => {
  it.each([
    [1, 'small', 1],
    [5_000, 'small', 1],
    [9_999, 'small', 1],
    [10_000, 'medium', 1],
    [50_000, 'medium', 1],
    [99_999, 'medium', 1],
    [100_000, 'large', 1],
    [500_000, 'large', 1],
    [800_000, 'large', 1],
    [999_999, 'large', 1],
    [1_000_000, 'large', 2],
    [1_000_001, 'large', 2],
    [1_600_000, 'large', 2],
    [1_600_001, 'large', 3],
    [3_000_000, 'large', 4],
    [100_000_000, 'large', 125],
  ])('%i devices -> %s x %i', (devices, tier, nodes) => {
    const p = plan({devices})
    expect([p.tier, p.nodes]).toEqual([tier, nodes])
  })

  it('says why at an exact boundary', () => {
    expect(plan({devices: 10_000}).reason).toMatch(/exactly 10,000 would fill the small tier's MAX_CONNECTIONS of 10,000/)
    expect(plan({devices: 100_000}).reason).toMatch(/medium tier's MAX_CONNECTIONS of 100,000/)
    expect(plan({devices: 1_000_000}).reason).toMatch(/2 large-tier nodes of 500,000 devices each/)
  })

  it('warns when a fleet leaves less than 20 % headroom (the share monitor warns at too)', () => {
    expect(plan({devices: 999_999}).notes.join('\n')).toMatch(/99 % of maxConnections 1,000,000, more than the 80 % planned for/)
    expect(plan({devices: 9_999}).notes.join('\n')).toMatch(/99 % of maxConnections 10,000/)
    expect(plan({devices: 800_001}).notes.join('\n')).toMatch(/80 % of maxConnections/)
    expect(plan({devices: 800_000}).notes).toEqual([])
    expect(plan({devices: 500_000}).notes).toEqual([])
  })
})

describe('memory reproduces the guide (SIZING.md §3)', () => {
  it.each(ROWS)('$tier at its full size: within the guide\'s ~computed – observed range', (row) => {
    const m = single(row.top).memory
    expect(m.connectionsBytes).toBe(row.top * 11_000)
    expect(m.totalBytes).toBeGreaterThanOrEqual(row.computed[0] * (1 - TOL))
    expect(m.totalBytes).toBeLessThanOrEqual(row.observed[1])
    expect(m.practiceRange.min).toBeLessThanOrEqual(row.observed[1])
    expect(m.practiceRange.max).toBeGreaterThanOrEqual(row.observed[0])
    expect(m.guide).toEqual({computed: {min: row.computed[0], max: row.computed[1]}, observed: {min: row.observed[0], max: row.observed[1]}})
  })

  it('large configuration at its full 1M: 11 GB live, queue 2 – 5 GB, total range inside ~14 – 17 GB', () => {
    // The guide's §4 figures are for MAX_CONNECTIONS all live, a load plan itself never plans for.
    const m = memory(tierByName('large'), resolveWorkload({devices: 1_000_000}))
    expect(m.connectionsBytes).toBe(11 * GB)
    expect(m.queue.range).toEqual({min: 2 * GB, max: 5 * GB})
    expect(m.totalRange.min).toBeGreaterThanOrEqual(14 * GB * (1 - TOL))
    expect(m.totalRange.max).toBeLessThanOrEqual(17 * GB * (1 + TOL))
  })

  it('medium at 100K: ~1.7 GB (1.1 GB live + 500 MB queue + fixed)', () => {
    const m = single(99_999).memory
    expect(m.queue.bytes).toBe(500 * MB)
    expect(Math.abs(m.totalBytes - 1.7 * GB) / (1.7 * GB)).toBeLessThan(TOL)
  })

  it.each(IDLE)('§5.4 idle: $live live on the $tier tier ~ $bytes bytes', (row) => {
    const p = single(row.devices, {active: row.live})
    expect(p.tier).toBe(row.tier)
    expect(Math.abs(p.memory.idleBytes - row.bytes) / row.bytes).toBeLessThan(TOL)
  })

  it('pool objects serve the first live connections; only the idle part is added', () => {
    const m = single(500_000, {active: 40_000}).memory
    expect(m.pool).toEqual({objects: 100_000, inUse: 40_000, idle: 60_000, idleBytes: 60_000 * 11_000})
    expect(m.connectionsBytes + m.pool.idleBytes).toBe(100_000 * 11_000)
  })

  it('§5.1 vs §5.2 (1M configured, 10K live): the chosen reading, counted and explained', () => {
    const m = single(999_999, {active: 10_000}).memory
    expect(m.idleBytes).toBe(idleExampleBytes())
    expect(m.idleBytes).toBe(10_000 * 11_000 + 90_000 * 11_000 + 200 * MB + 10 * MB)
    const text = JSON.stringify(explainPlan(plan({devices: 999_999, active: 10_000})))
    expect(text).toContain('§5.1 says ~330 MB, §5.2 ~130 MB')
    expect(text).toContain('§4 multiplies MAX_CONNECTIONS')
  })
})

describe('monotone in devices, steps only at tier boundaries', () => {
  const fleets = [1, 10, 100, 1_023, 1_024, 1_025, 5_000, 9_998, 9_999, 10_000, 10_001, 20_000, 99_999, 100_000, 100_001, 250_000, 999_998, 999_999]

  it('total and idle memory never fall as the fleet grows', () => {
    const plans = fleets.map((d) => single(d))
    for (let i = 1; i < plans.length; i++) {
      expect(plans[i].memory.totalBytes).toBeGreaterThanOrEqual(plans[i - 1].memory.totalBytes)
      expect(plans[i].memory.idleBytes).toBeGreaterThanOrEqual(plans[i - 1].memory.idleBytes)
    }
  })

  it('broadcast time grows within a tier and drops where the next tier\'s bigger batches start', () => {
    const us = (d: number) => single(d).broadcast!.micros.estimate
    expect(us(5_000)).toBeLessThan(us(9_999))
    expect(us(10_000)).toBeLessThan(us(9_999))
    expect(us(20_000)).toBeLessThan(us(99_999))
    expect(us(100_000)).toBeLessThan(us(99_999))
  })

  it('node count never falls', () => {
    const nodes = [999_999, 1_000_000, 1_000_001, 1_600_000, 1_600_001, 2_400_000, 2_400_001, 50_000_000, 100_000_000].map((d) => plan({devices: d}).nodes)
    expect(nodes).toEqual([1, 2, 2, 2, 3, 3, 4, 63, 125])
  })

  const tierFigures = (p: Plan) => ({broker: p.broker, hardware: p.hardware, os: p.os, cpu: p.cpu, fixed: p.memory!.fixedBytes, queue: p.memory!.queue.range})

  it.each(TIERS.map((t) => [t.name, t.minDevices, t.maxDevices]))('%s: the tier figures are the same from %i to %i devices', (_, lo, hi) => {
    expect(tierFigures(plan({devices: lo}))).toEqual(tierFigures(plan({devices: Math.round((lo + hi) / 2)})))
    expect(tierFigures(plan({devices: lo}))).toEqual(tierFigures(plan({devices: hi})))
  })

  it.each([10_000, 100_000])('every tier figure steps up at %i', (b) => {
    const [below, at] = [tierFigures(plan({devices: b - 1})), tierFigures(plan({devices: b}))]
    expect(at.broker.maxConnections).toBeGreaterThan(below.broker.maxConnections)
    expect(at.fixed).toBeGreaterThan(below.fixed)
    expect(at.queue.min).toBeGreaterThan(below.queue.min)
    expect(at.os.openFiles).toBeGreaterThan(below.os.openFiles)
    expect(at.hardware.cores.min).toBeGreaterThan(below.hardware.cores.min)
  })
})

describe('broadcast (SIZING.md §4, FAQ Q3)', () => {
  it('reproduces the guide: 1M subscribers, 150 ms in batches of 100, 30 – 50 ms in batches of 5,000', () => {
    expect(broadcastMicros(1_000_000, 100, 30)).toBe(150_000)
    expect(broadcastMicros(1_000_000, 100, 50)).toBe(150_000)
    expect(broadcastMicros(1_000_000, 5_000, 30)).toBe(30_000)
    expect(broadcastMicros(1_000_000, 5_000, 50)).toBe(50_000)
    expect(broadcast(tierByName('large'), 1_000_000).micros).toEqual({estimate: 40_000, min: 30_000, max: 50_000})
  })

  it('scales with live devices and uses the tier batch size', () => {
    const b = single(500_000).broadcast!
    expect([b.subscribers, b.batchSize, b.batches]).toEqual([500_000, 5_000, 100])
    expect(b.micros.estimate).toBe(20_000)
    expect(single(500_000, {active: 250_000}).broadcast!.micros.estimate).toBe(10_000)
  })
})

describe('workload flags', () => {
  it('queue = msg-rate × (payload + 100 B) × wait(QoS) once it exceeds the tier figure', () => {
    const q = (msgRate: number, payload: number, qos: 0 | 1 | 2) => single(50_000, {msgRate, payload, qos}).memory.queue
    expect(q(1_000_000, 900, 1)).toMatchObject({source: 'workload', bytes: 1_000_000 * 1_000 * 2})
    expect(q(2_000_000, 900, 1).bytes).toBe(2 * q(1_000_000, 900, 1).bytes)
    expect(q(1_000_000, 1_900, 1).bytes).toBe(2 * q(1_000_000, 900, 1).bytes)
    expect(q(1_000_000, 900, 0).bytes).toBe(500 * MB)
    expect(q(1_000_000, 900, 2).bytes).toBe(4 * GB)
    expect(q(100, 900, 1)).toMatchObject({source: 'guide', bytes: 500 * MB, workloadBytes: 200_000})
  })

  it('--subs-per-device adds 250 B per subscription beyond the first; --retained adds payload + 200 B each', () => {
    const m = single(50_000, {subsPerDevice: 5, retained: 10_000, payload: 300}).memory
    expect(m.subscriptionsBytes).toBe(50_000 * 4 * 250)
    expect(m.retainedBytes).toBe(10_000 * 500)
    const base = single(50_000, {payload: 300}).memory
    expect(m.totalBytes - base.totalBytes).toBe(m.subscriptionsBytes + m.retainedBytes)
  })

  it('--active counts live connections only; the rest is the idle pool', () => {
    const m = single(50_000, {active: 5_000}).memory
    expect(m.connectionsBytes).toBe(5_000 * 11_000)
    expect(m.pool.idle).toBe(5_000)
  })

  it('rejects values outside their limits with a message naming them', () => {
    expect(() => plan({devices: 0})).toThrow('--devices 0 is not allowed; allowed: a whole number of devices from 1 to 100,000,000')
    expect(() => plan({devices: 1.5})).toThrow(/--devices 1.5/)
    expect(() => plan({devices: 100_000_001})).toThrow(/100,000,000/)
    expect(() => plan({devices: 10, active: 11})).toThrow('--active 11 is more than --devices 10; allowed: 0 to 10')
    expect(() => plan({devices: 10, qos: 3 as 0})).toThrow(/--qos 3/)
  })
})

describe('scale-out from 1,000,000 devices', () => {
  it('3,000,000: four large nodes of 750,000, each keeping 20 % headroom, with each node\'s figures and the cluster total', () => {
    const p = plan({devices: 3_000_000, msgRate: 40_000})
    expect(p).toMatchObject({tier: 'large', nodes: 4, scaleOut: {nodeCapacity: 800_000, nodes: 4, nodesWithSpare: 5, devicesPerNode: 750_000}})
    expect(p.broker.maxConnections).toBe(1_000_000)
    expect(p.notes[0]).toMatch(/3,000,000 need 4 large-tier nodes of at most 800,000 .*each node's, for 750,000 live devices and 10,000 msg\/s/)
    // Each node's figures: the guide's model and the runtime's for 750,000 live devices and a quarter of the rate.
    expect(p.cluster!.perNode).toMatchObject({devices: 750_000, live: 750_000, msgRate: 10_000})
    expect(p.memory.liveConnections).toBe(750_000)
    expect(p.broadcast.subscribers).toBe(750_000)
    expect(p.runtime.memory.connections.count).toBe(750_000)
    expect(p.runtime.cpu.deliveriesPerSecond).toBe(10_000)
    expect(p.cluster!.runtime.memoryBytes).toBe(4 * p.runtime.memory.totalBytes)
    expect(p.cluster!.guide.memoryBytes).toBe(4 * p.memory.totalBytes)
    expect(p.cluster!.runtime.coresUsable).toBe(p.topology.processes)
    expect(p.topology.processes).toBe(4 * p.topology.workersPerNode)
    // 1,000,000 devices on: never "memory": null again.
    for (const d of [1_000_000, 3_000_000, 100_000_000]) expect(plan({devices: d}).memory.totalBytes, String(d)).toBeGreaterThan(0)
  })

  it('no node is ever planned above the headroom plan and monitor warn at', () => {
    for (const d of [1_000_000, 1_000_001, 1_600_000, 1_600_001, 3_000_000, 77_777_777, 100_000_000]) {
      const s = plan({devices: d}).scaleOut!
      expect(s.devicesPerNode, String(d)).toBeLessThanOrEqual(800_000)
      expect(s.devicesPerNode * s.nodes, String(d)).toBeGreaterThanOrEqual(d)
      // and no node more than needed: one fewer would overfill
      expect(Math.ceil(d / (s.nodes - 1)) > 800_000 || s.nodes === 2, String(d)).toBe(true)
    }
  })

  it('--explain gives the node formula with the headroom', () => {
    const row = explainPlan(plan({devices: 3_000_000})).find((r) => r.figure === 'nodes')!
    expect(row.formula).toBe('max(2, ceil(3,000,000 / (maxConnections 1,000,000 × 80 % headroom = 800,000))); 750,000 devices each')
  })
})

describe('the --json object', () => {
  it('every byte and count is an integer (only CPU percentages may have a fraction)', () => {
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'number' && !/^(runtime\.|topology\.)?cpu\./.test(path)) expect(Number.isInteger(v), path).toBe(true)
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k)
    }
    for (const d of [7, 5_000, 12_345, 500_000, 3_000_000]) walk(plan({devices: d, msgRate: 3_333, payload: 77, subsPerDevice: 3, retained: 9, qos: 0}), '')
  })

  it('explains every memory figure with a formula and a source', () => {
    const rows = explainPlan(plan({devices: 500_000}))
    const figures = rows.map((r) => r.figure)
    for (const f of ['tier', 'broker', 'hardware', 'os', 'memory.connectionsBytes', 'memory.pool.idleBytes', 'memory.queue.bytes', 'memory.fixedBytes', 'memory.totalBytes', 'memory.practiceRange', 'cpu.fullLoadPercent', 'broadcast.micros']) {
      expect(figures).toContain(f)
    }
    for (const r of rows) expect(r.source.length).toBeGreaterThan(5)
    expect(rows.find((r) => r.figure === 'memory.fixedBytes')!.formula).toBe('200 MB × maxConnections 1,000,000 / 1,000,000 + 10 MB sockets')
  })
})
