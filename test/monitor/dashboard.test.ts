import {readFileSync, writeFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {visibleWidth} from '../../src/cli/render.js'
import {bar, renderDashboard, sparkline} from '../../src/monitor/dashboard.js'
import {History} from '../../src/monitor/history.js'
import {plannedMemory} from '../../src/monitor/run.js'
import {shippedProfile} from '../../src/sizing/index.js'
import {warningsFor} from '../../src/monitor/warnings.js'
import {fixedHistory, monitorSnapshot} from './fixtures.js'

const GOLDEN = new URL('../fixtures/monitor/dashboard-80.txt', import.meta.url)

function fixedDashboard(color: boolean, width = 80): string[] {
  const history = fixedHistory()
  // What `mqttctl monitor` shows beside RSS: plan's runtime estimate from the shipped profile, so this
  // golden follows src/sizing/runtime-profile.json (regenerate it with UPDATE_GOLDEN=1 when the profile is).
  const f = history.latest()!.snapshot.figures
  const planned = plannedMemory(f.connectionsLive!, f.connectionsMax, shippedProfile())!
  const warnings = warningsFor(history.points, {plannedMemory: () => planned})
  return renderDashboard({url: 'mqtt://127.0.0.1:1883', points: history.points, warnings, plannedMemory: planned, color, width})
}

describe('dashboard', () => {
  it('renders a fixed history exactly as the golden file (80 columns, no colour)', () => {
    const text = fixedDashboard(false).join('\n') + '\n'
    // UPDATE_GOLDEN=1 npx vitest run test/monitor/dashboard.test.ts rewrites it; review the diff.
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text)
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'))
  })

  it('never exceeds the width, with or without colour', () => {
    for (const color of [false, true]) {
      for (const line of fixedDashboard(color)) expect(visibleWidth(line)).toBeLessThanOrEqual(80)
    }
    const coloured = fixedDashboard(true).join('\n')
    expect(coloured).toMatch(/\u001B\[/)
    expect(coloured.replace(/\u001B\[[0-9;]*m/g, '')).toBe(fixedDashboard(false).join('\n'))
  })

  it('shows n/a for figures a broker does not publish and no warnings before history', () => {
    const history = new History()
    const snap = monitorSnapshot(0)
    history.push({...snap, figures: {connectionsLive: 2, uptimeSeconds: 10}, version: 'mosquitto version 2.0.11'})
    const text = renderDashboard({url: 'mqtt://localhost', points: history.points, warnings: []}).join('\n')
    expect(text).toMatch(/Connections {2}2 \/ n\/a/)
    expect(text).toMatch(/Cache HIT {4}n\/a/)
    expect(text).toMatch(/Warnings {5}none/)
  })

  it('draws bars and sparklines', () => {
    expect(bar(0.5, 10)).toBe('█████░░░░░')
    expect(bar(2, 4)).toBe('████')
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe('▁▂▃▄▅▆▇█')
    expect(sparkline([5, 5], 4)).toBe('  ██')
    expect(sparkline([null, 0], 2)).toBe(' ▁')
    expect(sparkline([10, 11, 12], 3, false)).toBe('▁▅█')
  })
})
