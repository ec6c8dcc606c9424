import {describe, expect, it} from 'vitest'
import {CLUSTER_SCENARIOS} from '../../src/bench/suite/cluster.js'
import {FULL, QUICK, SCENARIOS, TARGETS} from '../../src/bench/suite/scenarios.js'

describe('the performance suite\'s scenarios and targets', () => {
  it('scenario ids are unique and every target names one of them', () => {
    const ids = [...SCENARIOS, ...CLUSTER_SCENARIOS].map((s) => s.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const t of TARGETS) expect(ids, `target "${t.label}"`).toContain(t.scenario)
  })

  it('every target says how it is judged: a ratio against Mosquitto or an absolute bound', () => {
    for (const t of TARGETS) {
      expect(t.minRatio !== undefined || t.max !== undefined || t.min !== undefined, t.label).toBe(true)
      expect(t.label.length).toBeGreaterThan(0)
    }
  })

  it('--quick is a smaller run of the same scenarios on every axis', () => {
    for (const key of Object.keys(FULL) as (keyof typeof FULL)[]) expect(QUICK[key], key).toBeLessThan(FULL[key])
  })
})
