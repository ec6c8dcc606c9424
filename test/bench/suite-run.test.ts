/** src/bench/suite/index.ts directly: runSuite at the quick scale on one scenario, ours and Mosquitto interleaved (counts and files, never speed). */
import {readdirSync, readFileSync} from 'node:fs'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {findMosquitto} from '../../src/bench/brokers.js'
import {runSuite, SUITE_DEFAULTS} from '../../src/bench/suite/index.js'
import {QUICK} from '../../src/bench/suite/scenarios.js'

/** Live child processes of this process (to check that every broker the suite started is gone). */
function children(): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(after[1]) === process.pid && after[0] !== 'Z') out.push(Number(d))
    } catch {}
  }
  return out
}

describe('runSuite', () => {
  it('needs Debian\'s mosquitto to compare against', () => {
    expect(findMosquitto(false), 'apt-get install mosquitto (.ci/run installs it)').toBeTruthy()
  })

  it('rounds alternate the brokers (A B, then B A), write results.json and RESULTS.md, and leave no broker running', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mqttctl-suite-'))
    const lines: string[] = []
    const before = children()
    const sigint = process.listenerCount('SIGINT')
    const r = await runSuite({rounds: 2, quick: true, only: ['pairs'], out, pin: false, log: (l) => lines.push(l)})
    expect(r.scale).toEqual(QUICK)
    expect(r.rounds).toBe(2)
    expect(r.scenarios.map((s) => s.id)).toEqual(['pairs'])
    expect(r.runs.map((x) => [x.round, x.broker])).toEqual([
      [1, 'ours'],
      [1, 'mosquitto'],
      [2, 'mosquitto'],
      [2, 'ours'],
    ])
    for (const run of r.runs) {
      expect(run.error, `${run.broker} round ${run.round}`).toBeUndefined()
      expect(Object.keys(run.metrics).length).toBeGreaterThan(0)
    }
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^round 1\/2 {2}pairs {5}ours {6}\w+=/)
    expect(r.notes).toContain('Not pinned (quick run, taskset missing or fewer than 2 cores): brokers and generator share the CPUs.')
    expect(r.machine.pinned).toBe(false)
    expect(r.versions.ours).toMatch(/^mqttctl /)
    expect(r.versions.mosquitto).toMatch(/\d/)
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))
    expect(json.runs).toEqual(JSON.parse(JSON.stringify(r.runs)))
    expect(json.verdicts).toBeDefined()
    expect(readFileSync(join(out, 'RESULTS.md'), 'utf8')).toMatch(/pairs/)
    expect(children().filter((p) => !before.includes(p))).toEqual([])
    expect(process.listenerCount('SIGINT')).toBe(sigint)
  }, 120_000)

  it('--mosquitto-only runs Mosquitto alone and says so; an unknown scenario id runs nothing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mqttctl-suite-'))
    const r = await runSuite({rounds: 1, quick: true, only: ['no-such-scenario'], out, pin: false, mosquittoOnly: true})
    expect(r.notes).toContain('Our broker was skipped (--mosquitto-only).')
    expect(r.versions.ours).toBeNull()
    expect(r.scenarios).toEqual([])
    expect(r.runs).toEqual([])
  })

  it('defaults: 3 rounds of every scenario into bench/, not quick', () => {
    expect(SUITE_DEFAULTS).toMatchObject({rounds: 3, quick: false, only: [], mosquittoOnly: false})
    expect(SUITE_DEFAULTS.out).toMatch(/\/bench$/)
  })
})
