import {runCommand} from '@oclif/test'
import {afterEach, describe, expect, it} from 'vitest'
import type {TuneResult} from '../../commands/tune.js'
import {resolveNodesTarget} from '../../src/tune/cluster.js'

const root = new URL('../..', import.meta.url).pathname

afterEach(() => {
  process.exitCode = undefined
})

describe('tune --nodes: the OS limits for each node\'s share of the fleet', () => {
  it('no --nodes: the plan\'s nodes, as before', () => {
    expect(resolveNodesTarget({devices: '3M'})).toMatchObject({nodes: 4, devices: 750_000})
    expect(resolveNodesTarget({devices: '50000'})).toMatchObject({nodes: 1, devices: 50_000})
  })

  it('more nodes than the plan: each node\'s devices and tier are its share\'s', () => {
    expect(resolveNodesTarget({devices: '3M', nodes: '6'})).toMatchObject({nodes: 6, devices: 500_000})
    const t = resolveNodesTarget({devices: '60000', nodes: '3'})
    expect(t).toMatchObject({nodes: 3, devices: 20_000})
    expect(t.tier.name).toBe('medium')
    expect(resolveNodesTarget({devices: '15000', nodes: '3'}).tier.name).toBe('small')
  })

  it('fewer nodes than the fleet needs, or a bad count: one line naming the value and what is allowed', () => {
    expect(() => resolveNodesTarget({devices: '3M', nodes: '3'})).toThrow('--nodes 3 is not allowed for 3,000,000 devices: each node is planned for at most 800,000 (80 % of maxConnections), so at least 4 nodes; allowed: 4 to 1,000')
    for (const bad of ['0', '-1', '1.5', 'x', '1001']) expect(() => resolveNodesTarget({devices: '3M', nodes: bad})).toThrow(`--nodes ${JSON.stringify(bad)} is not allowed; allowed: a whole number from 1 to 1,000`)
  })

  it('mqttctl tune --os linux --devices 60000 --nodes 3 --json: the medium tier\'s files for 20,000 devices each', async () => {
    const {stdout, error} = await runCommand<TuneResult>(['tune', '--os', 'linux', '--devices', '60000', '--nodes', '3', '--json'], {root}, {testNodeEnv: 'production'})
    expect(error).toBeUndefined()
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({mode: 'render', tier: 'medium', devices: 20_000, nodes: 3})
    const unit = r.files.find((f: {path: string}) => f.path === 'systemd/mqtt-broker.service')
    expect(unit.content).toContain('LimitNOFILE=200000')
  })

  it('mqttctl tune --nodes 2 for 3M devices exits 2 with the one line', async () => {
    const {stdout, stderr, error} = await runCommand(['tune', '--os', 'linux', '--devices', '3M', '--nodes', '2'], {root}, {testNodeEnv: 'production'})
    expect(stderr.trim()).toMatch(/^Error: --nodes 2 is not allowed for 3,000,000 devices[^\n]*$/)
    expect(stdout).toBe('')
    expect(error?.oclif?.exit).toBe(2)
  })
})
