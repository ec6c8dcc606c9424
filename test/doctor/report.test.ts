import chalk from 'chalk'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {renderDoctor} from '../../src/doctor/report.js'
import type {DoctorReport} from '../../src/doctor/types.js'

let level: typeof chalk.level
beforeAll(() => {
  level = chalk.level
  chalk.level = 0
})
afterAll(() => {
  chalk.level = level
})

const report: DoctorReport = {
  ok: false,
  devices: 50_000,
  tier: 'medium',
  config: null,
  checks: [
    {id: 'node', name: 'Node.js version', status: 'pass', detail: 'Node.js 20.20.2 (needs 20 or later)', fix: 'never shown for a pass'},
    {id: 'os-limits', name: 'OS limits vs the plan', status: 'fail', detail: 'ulimit -n is 20000: fewer than the 51,024 file descriptors 50,000 connections need', fix: 'ulimit -n 200000'},
    {id: 'tls', name: 'MQTT over TLS (8883)', status: 'warn', detail: 'no TLS listener'},
  ],
  summary: {pass: 1, warn: 1, fail: 1},
}

describe('renderDoctor', () => {
  it('status and name, then what was found and the fix (not for a pass), wrapped to the width; then the summary', () => {
    expect(renderDoctor(report, 60).split('\n')).toEqual([
      'pass  Node.js version',
      '      Node.js 20.20.2 (needs 20 or later)',
      'fail  OS limits vs the plan',
      '      ulimit -n is 20000: fewer than the 51,024 file',
      '      descriptors 50,000 connections need',
      '      fix: ulimit -n 200000',
      'warn  MQTT over TLS (8883)',
      '      no TLS listener',
      '',
      'For 50,000 devices (medium tier): 1 pass, 1 warn, 1 fail.',
    ])
  })

  it('judged from the configuration alone, the summary says so', () => {
    expect(renderDoctor({...report, devices: null}, 80).split('\n').at(-1)).toBe('For the configuration (medium tier): 1 pass, 1 warn, 1 fail.')
  })
})
