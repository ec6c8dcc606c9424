/**
 * The suite's scale-out scenarios, run for real with tiny counts: a nats-server, two cluster nodes
 * and `--workers 1` / `--workers 2` brokers (from sources), loopback only, everything stopped by the
 * scenario. Checks the report's shape and that its figures are measured, never a rate or a time.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {CLUSTER_SCENARIOS, clusterSkipReason, descendants} from '../../src/bench/suite/cluster.js'
import {renderMarkdown, verdicts, type SuiteResults} from '../../src/bench/suite/report.js'
import {QUICK} from '../../src/bench/suite/scenarios.js'
import {findNatsServer} from '../../src/broker/process/workers.js'

const scale = {...QUICK, seconds: 1, clusterPairs: 4}
const nats = findNatsServer() !== undefined
const tmp = mkdtempSync(join(tmpdir(), 'suite-cluster-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const scenario = (id: string) => CLUSTER_SCENARIOS.find((s) => s.id === id)!
/** The run left nothing behind, lost nothing, and every named figure is a measured number; those in `positive` above 0. */
function measured(m: Record<string, number | null>, figures: string[], positive: string[]): void {
  expect(descendants(process.pid), 'nothing left running').toEqual([])
  expect(m.lost).toBe(0)
  for (const k of figures) expect(typeof m[k] === 'number' && Number.isFinite(m[k]), `${k} = ${m[k]}`).toBe(true)
  for (const k of positive) expect(m[k], k).toBeGreaterThan(0)
}

function results(runs: SuiteResults['runs']): SuiteResults {
  return {
    startedAt: '2026-12-03T15:00:00.000Z',
    finishedAt: '2026-12-03T15:01:00.000Z',
    machine: {cpu: 'test', cores: 2, memoryGB: 4, kernel: 'test', loadAverageAtStart: 0, pinned: false},
    versions: {ours: 'mqttctl test', mosquitto: null, node: process.version},
    scale,
    rounds: 1,
    scenarios: CLUSTER_SCENARIOS.map((s) => ({id: s.id, title: s.title})),
    notes: [],
    runs,
  }
}

describe('the scale-out scenarios of the suite', () => {
  it('without nats-server they are skipped with one line naming the package', () => {
    const fake = join(tmp, 'not-executable')
    writeFileSync(fake, '')
    chmodSync(fake, 0o644)
    const line = clusterSkipReason({MQTTCTL_NATS_SERVER: fake, PATH: ''})!
    expect(line).toContain(`MQTTCTL_NATS_SERVER=${fake} is not an executable`)
    expect(line).toContain('apt-get install nats-server')
    expect(line.split('\n')).toHaveLength(1)
    expect(clusterSkipReason({PATH: '/nonexistent'}) ?? 'found in /usr/sbin').toMatch(/nats-server is not installed|found in \/usr\/sbin/)
    if (nats) expect(clusterSkipReason(process.env)).toBeUndefined()
  })

  it.skipIf(!nats)('cluster: same-node and cross-node pairs measured, CPU of A, B and nats-server per message', async () => {
    const m = await scenario('cluster').run({scale, workers: 2})
    // Measured: messages flowed and A spent CPU on them (not constants, not zero).
    measured(m, ['crossNodeUsPerMsgA', 'crossNodeUsPerMsgB', 'crossNodeUsPerMsgNats', 'perCoreRatio', 'rateRatio'], ['sameNodeMsgsPerSec', 'crossNodeMsgsPerSec', 'sameNodeUsPerMsgA'])
    // Cross-node, B delivers every message (its CPU is of the order of A's, not an idle node's
    // statistics tick) and they went through nats-server (it spent CPU on them).
    expect(m.crossNodeUsPerMsgB).toBeGreaterThan(m.crossNodeUsPerMsgA! / 4)
    expect(m.crossNodeUsPerMsgNats).toBeGreaterThan(0)
    // The ratios are the ones the figures give.
    expect(m.perCoreRatio).toBeCloseTo(m.sameNodeUsPerMsgA! / (m.crossNodeUsPerMsgA! + m.crossNodeUsPerMsgB!), 1)
    expect(m.rateRatio).toBeCloseTo(m.crossNodeMsgsPerSec! / m.sameNodeMsgsPerSec!, 1)

    const r = results([{scenario: 'cluster', broker: 'ours', round: 1, metrics: m}])
    const md = renderMarkdown(r)
    expect(md).toContain('### cluster: scale-out')
    expect(md).toMatch(/\| crossNodeUsPerMsgNats +\| [\d.,]+ +\| – +\|/)
    expect(md).toContain('perCoreRatio = same-node CPU per message on A')
    const v = verdicts(r).find((x) => x.target.scenario === 'cluster')!
    expect(v.ours).toBe(m.perCoreRatio)
    expect(v.met).toBe(m.perCoreRatio! >= 0.5)
  }, 120_000)

  it.skipIf(!nats)('workers: --workers 1 against --workers 2 through one port, every process of the run counted', async () => {
    const m = await scenario('workers').run({scale, workers: 2})
    expect(m.workers).toBe(2)
    // The workers (not the primary) carry the load, so their CPU shows up.
    measured(m, ['speedup', 'oneWorkerUsPerMsg', 'nWorkersUsPerMsg', 'nWorkersUsPerMsgNats', 'nWorkersCpuPct'], ['oneWorkerMsgsPerSec', 'nWorkersMsgsPerSec', 'nWorkersUsPerMsgWorkers'])
    expect(m.nWorkersUsPerMsg).toBeGreaterThanOrEqual(m.nWorkersUsPerMsgWorkers!)
    expect(m.speedup).toBeCloseTo(m.nWorkersMsgsPerSec! / m.oneWorkerMsgsPerSec!, 1)
  }, 180_000)

  it('the per-core target is judged on our figure alone: at least 0.5, and nothing lost', () => {
    const judge = (perCoreRatio: number, lost: number) => verdicts(results([{scenario: 'cluster', broker: 'ours', round: 1, metrics: {perCoreRatio, lost}}])).find((x) => x.target.scenario === 'cluster')!
    expect(judge(0.62, 0)).toMatchObject({ours: 0.62, mosquitto: null, ratio: null, met: true, gap: null})
    expect(judge(0.41, 0)).toMatchObject({met: false, gap: '0.41 < 0.5'})
    expect(judge(0.9, 3)).toMatchObject({met: false, gap: 'lost = 3 (median)'})
    expect(renderMarkdown(results([{scenario: 'cluster', broker: 'ours', round: 1, metrics: {perCoreRatio: 0.41, lost: 0}}]))).toContain('- cross-node pairs ≥ 0.5 × the same-node rate per broker core (ours only): 0.41 < 0.5')
  })

  it('descendants finds a process tree through /proc (what the workers scenario counts)', () => {
    const mine = descendants(process.ppid)
    expect(mine.map((p) => p.pid)).toContain(process.pid)
    expect(descendants(process.pid).every((p) => p.pid !== process.ppid)).toBe(true)
  })
})
