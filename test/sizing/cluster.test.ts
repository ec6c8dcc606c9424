import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCommand} from '@oclif/test'
import {afterAll, describe, expect, it} from 'vitest'
import {STREAM_MAX_BYTES} from '../../src/broker/cluster/durable.js'
import {CROSS_HOP, DURABLE_STREAM_BYTES, JS_BYTES_PER_MESSAGE, clusterTopology, topologyCpu, topologyNotes} from '../../src/sizing/cluster.js'
import {CPU_PLAN_SHARE} from '../../src/sizing/runtime.js'
import {plan, resolveWorkload, shippedProfile, tierByName} from '../../src/sizing/index.js'

const profile = shippedProfile()
const same = profile.figures.cpuMicrosPerMessageIn + profile.figures.cpuMicrosPerDeliveryOut
const GiB = 2 ** 30
const CPU_PLAN_SHARE_PERCENT = CPU_PLAN_SHARE * 100
const topo = (input: Parameters<typeof resolveWorkload>[0], nodes = 1, tier = 'large' as const) => clusterTopology(profile, resolveWorkload(input), nodes, tierByName(tier))

describe('plan topology: workers per node and the NATS servers', () => {
  it('a rate one core carries: one process, no NATS', () => {
    const t = topo({devices: 5000, msgRate: 1000})
    expect(t).toMatchObject({nodes: 1, workersPerNode: 1, processes: 1, nats: null})
    expect(t.cpu.crossShare).toBe(0)
  })

  it('a crossing message costs the same-process CPU over the measured per-core ratio (both sides together)', () => {
    const c = topologyCpu(profile, 1000, 4)
    expect(c.crossMicros).toBeCloseTo(same / CROSS_HOP.perCoreRatio, 1)
    expect(c.crossShare).toBe(0.75)
    expect(c.averageMicros).toBeCloseTo(0.25 * same + 0.75 * c.crossMicros, 0)
  })

  it('workers: the fewest that keep each process under the planned share of its core, counting the hop', () => {
    for (const rate of [30_000, 100_000, 400_000]) {
      const t = topo({devices: 500_000, msgRate: rate})
      expect(t.workersPerNode).toBeGreaterThan(1)
      expect(t.cpu.percentOfCorePerWorker!).toBeLessThanOrEqual(CPU_PLAN_SHARE_PERCENT)
      expect(topologyCpu(profile, rate, t.workersPerNode - 1).percentOfCorePerWorker!).toBeGreaterThan(CPU_PLAN_SHARE_PERCENT)
      // Without the hop's cost the rate would need fewer processes: the hop is counted.
      expect(t.workersPerNode).toBeGreaterThan(Math.ceil((rate * same) / 1e4 / CPU_PLAN_SHARE_PERCENT))
    }
  })

  it('one node with workers: one local nats-server, replicas 1', () => {
    const t = topo({devices: 500_000, msgRate: 100_000})
    expect(t.nats).toMatchObject({servers: 1, placement: 'local', replicas: 1})
    expect(t.coresPerNode).toBe(t.workersPerNode + 1)
  })

  it('several nodes: three NATS servers, replicas 3, the rate split over all processes', () => {
    const t = topo({devices: 3_000_000, msgRate: 50_000}, 4)
    expect(t.nats).toMatchObject({servers: 3, placement: 'dedicated', replicas: 3})
    expect(t.processes).toBe(4 * t.workersPerNode)
    expect(t.nats!.messagesPerSecond).toBe(Math.ceil(50_000 * t.cpu.crossShare))
  })

  it('JetStream store: the retained set and the session copies\' bound, with headroom, whole GiB', () => {
    const t = topo({devices: 3_000_000, msgRate: 50_000, retained: 2_000_000, payload: 512}, 4)
    const js = t.nats!.jetStream
    expect(js.retainedBytes).toBe(2_000_000 * (512 + JS_BYTES_PER_MESSAGE))
    expect(js.durableBytes).toBe(DURABLE_STREAM_BYTES)
    expect(js.storeBytesPerServer).toBe(Math.ceil(((js.retainedBytes + DURABLE_STREAM_BYTES) * 1.5) / GiB) * GiB)
    expect(js.durableSecondsForOneDown).toBe(Math.round(DURABLE_STREAM_BYTES / ((50_000 / t.processes) * 712)))
  })

  it('QoS 0: nothing for JetStream but the retained set', () => {
    const t = topo({devices: 3_000_000, msgRate: 50_000, qos: 0}, 4)
    expect(t.nats!.jetStreamPublishesPerSecond).toBe(0)
    expect(t.nats!.jetStream.durableSecondsForOneDown).toBeNull()
  })

  it('max_payload: NATS\'s 1 MB default, raised for large payloads, never past 64 MB', () => {
    expect(topo({devices: 2_000_000}, 3).nats!.maxPayloadBytes).toBe(2 ** 20)
    expect(topo({devices: 2_000_000, payload: 5_000_000}, 3).nats!.maxPayloadBytes).toBe(5 * 2 ** 20)
    const huge = topo({devices: 2_000_000, payload: 100_000_000}, 3)
    expect(huge.nats!.maxPayloadBytes).toBe(64 * 2 ** 20)
    expect(topologyNotes(huge, resolveWorkload({devices: 2_000_000, payload: 100_000_000}), tierByName('large')).join()).toContain('larger than NATS allows')
  })

  it('notes: more workers than the tier\'s machine has cores, JetStream beyond its rate, no --msg-rate', () => {
    const w = resolveWorkload({devices: 5000, msgRate: 50_000})
    const small = clusterTopology(profile, w, 1, tierByName('small'))
    expect(topologyNotes(small, w, tierByName('small')).join()).toMatch(/more than the small tier's smallest machine \(2 cores\)/)
    const busy = resolveWorkload({devices: 3_000_000, msgRate: 150_000, qos: 1})
    expect(topologyNotes(topo({devices: 3_000_000, msgRate: 150_000}, 4), busy, tierByName('large')).join()).toContain('acknowledged publishes/s')
    expect(topologyNotes(topo({devices: 2_000_000}, 3), resolveWorkload({devices: 2_000_000}), tierByName('large')).join()).toContain('give --msg-rate')
  })

  it('the session copies\' bound is the one the broker gives its stream', () => {
    expect(DURABLE_STREAM_BYTES).toBe(STREAM_MAX_BYTES)
  })

  it('plan() carries the topology, and a cluster\'s processes are the topology\'s', () => {
    const p = plan({devices: 3_000_000, msgRate: 150_000})
    expect(p.topology.nodes).toBe(p.nodes)
    expect(p.cluster!.runtime.processes).toBe(p.topology.processes)
    expect(p.notes.join()).toContain(`start --workers ${p.topology.workersPerNode}`)
    expect(p.notes.join()).not.toContain('later release')
  })

  it('next steps: build each node\'s files for several nodes; start --workers for one node with workers', () => {
    const p = plan({devices: 3_000_000, msgRate: 150_000})
    expect(p.next).toEqual(['mqttctl tune --os linux --devices 3000000', `mqttctl build --devices 3000000 --workers ${p.topology.workersPerNode}`, 'mqttctl start --config mqtt-broker/nodes/node-1/broker.json'])
    const one = plan({devices: 500_000, msgRate: 100_000})
    expect(one.next.at(-1)).toBe(`mqttctl start --config mqtt-broker/etc/broker.json --workers ${one.topology.workersPerNode}`)
    expect(plan({devices: 5000}).next).toEqual(['mqttctl tune --os linux --devices 5000', 'mqttctl build --devices 5000', 'mqttctl start --config mqtt-broker/etc/broker.json'])
  })
})

describe('plan --write with workers', () => {
  const root = new URL('../..', import.meta.url).pathname
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-plan-workers-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('one node that needs workers: cluster.workers and each worker\'s heap limit in the file', async () => {
    const file = join(dir, 'workers.json')
    const {stdout, error} = await runCommand(['plan', '-n', '500k', '--msg-rate', '100k', '--profile', 'shipped', '--write', file], {root}, {testNodeEnv: 'production'})
    expect(error).toBeUndefined()
    const p = plan({devices: 500_000, msgRate: 100_000})
    const written = JSON.parse(readFileSync(file, 'utf8'))
    expect(written.cluster.workers).toBe(p.topology.workersPerNode)
    expect(written.runtime.maxOldSpaceMb).toBe(p.topology.worker.maxOldSpaceMb)
    expect(stdout).toContain(`(${p.topology.workersPerNode} workers, each with a V8 heap limit ${p.topology.worker.maxOldSpaceMb} MB)`)
  })

  it('one process, or several nodes (build --nodes writes those): no workers in the file', async () => {
    for (const [args, name] of [[['-n', '5000'], 'one.json'], [['-n', '3M', '--msg-rate', '150k'], 'nodes.json']] as const) {
      const file = join(dir, name)
      const {error} = await runCommand(['plan', ...args, '--profile', 'shipped', '--write', file], {root}, {testNodeEnv: 'production'})
      expect(error).toBeUndefined()
      expect(JSON.parse(readFileSync(file, 'utf8')).cluster.workers).toBe(1)
    }
  })
})
