import {describe, expect, it} from 'vitest'
import {MODES} from '../../src/bench/options.js'
import {BENCH_COMMANDS, benchFlags, inapplicable} from '../../src/cli/bench-command.js'

describe('bench flags per command', () => {
  it('each load mode has the connection flags; only its own mode flags', () => {
    for (const mode of MODES) expect(Object.keys(benchFlags(mode))).toEqual(expect.arrayContaining(['host', 'port', 'url', 'clients', 'duration', 'tls']))
    expect(Object.keys(benchFlags('conn'))).toContain('subscribe')
    expect(Object.keys(benchFlags('conn'))).not.toContain('probe')
    expect(Object.keys(benchFlags('fanout'))).toContain('probe')
    expect(Object.keys(benchFlags('sub'))).not.toContain('subscribers')
  })

  it('suite and calibrate take only their own flags', () => {
    expect(Object.keys(benchFlags('suite')).sort()).toEqual(['broker-workers', 'mosquitto-only', 'only', 'out', 'quick', 'rounds'])
    expect(Object.keys(benchFlags('calibrate')).sort()).toEqual(['connections', 'profile'])
  })

  it('every command named in BENCH_COMMANDS has flags', () => {
    for (const c of BENCH_COMMANDS) expect(Object.keys(benchFlags(c)).length).toBeGreaterThan(0)
  })
})

describe('inapplicable: the line for a flag of another bench command', () => {
  it.each([
    ['suite', '--port', '--port does not apply to bench suite; it is for conn, pub, sub, pubsub, fanout, latency'],
    ['calibrate', '-c', '--clients does not apply to bench calibrate; it is for conn, pub, sub, pubsub, fanout, latency'],
    ['conn', '--probe', '--probe does not apply to bench conn; it is for fanout'],
    ['pub', '--rounds=2', '--rounds does not apply to bench pub; it is for suite'],
  ] as const)('bench %s %s', (command, flag, line) => {
    expect(inapplicable(command, flag)).toBe(line)
  })

  it('undefined for an unknown flag or one the command has (oclif says "Nonexistent flag" then)', () => {
    expect(inapplicable('pub', '--frobnicate')).toBeUndefined()
    expect(inapplicable('pub', '-Z')).toBeUndefined()
    expect(inapplicable('fanout', '--probe')).toBeUndefined()
  })
})
