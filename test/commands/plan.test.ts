import {runCommand} from '@oclif/test'
import {execa} from 'execa'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import type {PlanJson} from '../../commands/plan.js'
import {loadConfig} from '../../src/config/index.js'
import {saveProfile} from '../../src/sizing/index.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/plan', name), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-plan-'))
const run = (args: string[]) => runCommand<PlanJson>(['plan', ...args], {root}, {testNodeEnv: 'production'})
const json = async (args: string[]) => {
  const {stdout, stderr, error} = await run([...args, '--json'])
  expect(error).toBeUndefined()
  expect(stderr).toBe('')
  return JSON.parse(stdout) as PlanJson
}

afterEach(() => {
  // A refused command sets the exit code for the process it would end; this process goes on.
  process.exitCode = undefined
  delete process.env.MQTTCTL_PROFILE
})

describe('mqttctl plan: the issue\'s acceptance figures', () => {
  it('500,000 devices: large tier, 1,000,000 / 4,095 / 100,000 / 5,000, exact text', async () => {
    const {stdout, stderr, error} = await run(['--devices', '500000'])
    expect(error).toBeUndefined()
    expect(stderr).toBe('')
    expect(stdout).toBe(fixture('500000.txt'))
    expect(stdout).toMatch(/maxConnections\s+1,000,000\n\s+ioEntries\s+4,095\n\s+clientPool\s+100,000\n\s+forwardBatchSize\s+5,000\n\s+logLevel\s+warn/)
  })

  it('500,000 devices --json: the same figures, memory consistent with the guide', async () => {
    const p = await json(['-n', '500,000'])
    expect(p).toMatchObject({tier: 'large', nodes: 1, broker: {maxConnections: 1_000_000, ioEntries: 4_095, clientPool: 100_000, forwardBatchSize: 5_000, logLevel: 'warn'}})
    expect(p.memory!.connectionsBytes).toBe(500_000 * 11_000)
    expect(p.memory!.totalBytes).toBe(5_500_000_000 + 3_500_000_000 + 210_000_000)
    expect(p.os).toMatchObject({openFiles: 2_000_000, somaxconn: 65_535, synBacklog: 65_535, netdevBacklog: 65_535})
    expect(p.next).toEqual(['mqttctl tune --os linux --devices 500000', 'mqttctl build', 'mqttctl start'])
  })

  it.each([
    ['5000', 'small'],
    ['50000', 'medium'],
    ['10000', 'medium'],
    ['100k', 'large'],
  ])('%s devices -> %s', async (devices, tier) => {
    expect((await json(['--devices', devices])).tier).toBe(tier)
  })

  it('3,000,000 devices: a multi-node answer, exact text', async () => {
    const {stdout, error} = await run(['--devices', '3000000'])
    expect(error).toBeUndefined()
    expect(stdout).toBe(fixture('3000000.txt'))
    expect(stdout).toContain('4 × large')
    expect(stdout).not.toContain('Memory')
    const p = await json(['--devices', '3M'])
    expect(p).toMatchObject({nodes: 4, scaleOut: {nodeCapacity: 800_000, nodes: 4, nodesWithSpare: 5, devicesPerNode: 750_000}, memory: null, cpu: null, broadcast: null})
  })
})

describe('80 columns', () => {
  it.each([['5000'], ['100000'], ['999999'], ['1000000'], ['3M']])('-n %s --explain with every workload flag: no line wider than 80 when piped', async (devices) => {
    const {stdout} = await run(['-n', devices, '--explain', '--active', '1', '--msg-rate', '12345678', '--payload', '100000', '--subs-per-device', '7', '--retained', '99999999'])
    for (const line of stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80)
  })
})

describe('workload flags and --explain', () => {
  it('passes every workload flag to the model', async () => {
    const p = await json(['-n', '50k', '--active', '20k', '--msg-rate', '1M', '--payload', '900', '--qos', '2', '--subs-per-device', '3', '--retained', '1000'])
    expect(p.workload).toEqual({devices: 50_000, live: 20_000, msgRate: 1_000_000, payloadBytes: 900, qos: 2, subsPerDevice: 3, retained: 1_000})
    expect(p.memory!.queue).toMatchObject({source: 'workload', bytes: 1_000_000 * 1_000 * 4})
  })

  it('--explain shows the row, the formula, the guide section and the chosen reading', async () => {
    const {stdout} = await run(['-n', '500000', '--explain'])
    expect(stdout).toContain('Where each figure comes from')
    expect(stdout).toContain('memory.connectionsBytes = 5.5 GB\n      live 500,000 × 11 KB')
    expect(stdout).toContain('tier table, large row')
    expect(stdout).toContain('§5.1 says ~330 MB, §5.2 ~130 MB')
    expect((await json(['-n', '500000', '--explain'])).explain!.length).toBeGreaterThan(10)
  })
})

describe('--write', () => {
  it('writes the tier configuration start/build read, and never overwrites without --force', async () => {
    const file = join(dir, 'broker.json')
    const first = await run(['-n', '5000', '--write', file])
    expect(first.error).toBeUndefined()
    expect(first.stdout).toContain(`Wrote the small tier's broker configuration to ${file}`)
    expect(first.stdout).toContain(`mqttctl start --config ${file}`)
    expect(loadConfig({file}).config).toMatchObject({maxConnections: 10_000, ioEntries: 256, clientPool: 1_024, forwardBatchSize: 100})

    const again = await run(['-n', '500000', '--write', file])
    expect(again.error?.oclif?.exit).toBe(2)
    expect(again.stderr).toBe(`Error: ${file} already exists; pass --force to overwrite it\n`)
    expect(again.stdout).toBe('')
    expect(loadConfig({file}).config.maxConnections).toBe(10_000)

    const forced = await run(['-n', '500000', '--write', file, '--force'])
    expect(forced.error).toBeUndefined()
    expect(loadConfig({file}).config.maxConnections).toBe(1_000_000)
  })
})

describe('bad input: one line, exit 2, nothing written', () => {
  const allowed = 'allowed: a whole number of devices from 1 to 100,000,000'
  it.each([
    [['--devices', '0'], `--devices "0" is too small; ${allowed}`],
    [['--devices=-3'], `--devices "-3" is too small; ${allowed}`],
    [['--devices', '-3'], `--devices "-3" is too small; ${allowed}`],
    [['--devices', '1.5'], `--devices "1.5" is not a whole number; ${allowed}`],
    [['--devices', 'abc'], `--devices "abc" is not a number; ${allowed} (e.g. 50000, 50,000 or 50k)`],
    [['--devices', '1e13'], `--devices "1e13" is too large; ${allowed}`],
    [['--devices', '10000000000000'], `--devices "10000000000000" is too large; ${allowed}`],
    [['-n', '10', '--active', '11'], '--active 11 is more than --devices 10; allowed: 0 to 10'],
    [['-n', '10', '--qos', '5'], '--qos "5" is not allowed; allowed: 0, 1 or 2'],
    [['-n', '10', '--profile', 'best'], '--profile "best" is not allowed; allowed: guide or measured'],
    [['-n', '10', '--frobnicate'], /^Nonexistent flag: --frobnicate; allowed flags: --devices, .*--json$/],
    [['-n', '10', 'extra'], /^Unexpected argument: extra; allowed flags: --devices, .*--json$/],
    [['-n', '10', '--force'], '--force is only allowed with --write FILE (it overwrites FILE)'],
  ])('%j', async (args, message) => {
    const file = join(dir, `never-${Math.random().toString(36).slice(2)}.json`)
    const {stdout, stderr, error} = await run(args.includes('--force') ? args : [...args, '--write', file])
    expect(error?.oclif?.exit).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.endsWith('\n')).toBe(true)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr.trimEnd().replace(/^Error: /, '')).toMatch(message)
    expect(existsSync(file)).toBe(false)
  })
})

describe('--profile measured', () => {
  it('prints the measured figures next to the guide\'s', async () => {
    const path = join(dir, 'profile.json')
    saveProfile(path, {bytesPerConnection: 6_000, bytesPerSubscription: 400, broadcastMsPerThousand: 0.08, cpuMicrosPerMessage: 5, measuredAt: '2025-10-24T14:30:00Z', host: 'bench-1', brokerVersion: '0.1.0'})
    process.env.MQTTCTL_PROFILE = path
    const {stdout, error} = await run(['-n', '50000', '--profile', 'measured', '--msg-rate', '10000'])
    expect(error).toBeUndefined()
    expect(stdout).toContain(`Measured profile (${path}, bench-1, 2025-10-24T14:30:00Z, broker 0.1.0)`)
    expect(stdout).toMatch(/per connection\s+11 KB\s+6 KB/)
    expect(stdout).toMatch(/CPU at --msg-rate\s+not stated\s+5 % of a core/)
    const p = await json(['-n', '50000', '--profile', 'measured'])
    expect(p.measured).toMatchObject({path, connectionsBytes: 300_000_000, broadcastMicros: 4_000, cpuPercentOfCore: null})
  })

  it('without a profile: a clear error naming the path and the command to run', async () => {
    const path = join(dir, 'absent', 'profile.json')
    process.env.MQTTCTL_PROFILE = path
    const {stdout, stderr, error} = await run(['-n', '50000', '--profile', 'measured'])
    expect(error?.oclif?.exit).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe(`Error: no measured profile at ${path}; run \`mqttctl bench calibrate\`\n`)
  })
})

describe('a real process', () => {
  // As a user runs it: no NODE_ENV=test from vitest (which turns on oclif's dev-mode path warning).
  const {NODE_ENV: _, ...env} = process.env
  const cli = (args: string[]) => execa('node', [join(root, 'bin/dev.js'), 'plan', ...args], {cwd: dir, reject: false, stdin: 'pipe', env, extendEnv: false})

  it('no --devices and no terminal: exit 2 with one line', async () => {
    const r = await cli([])
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('Error: --devices is missing and there is no terminal to ask in; allowed: a whole number of devices from 1 to 100,000,000, e.g. --devices 50000')
  })

  it('bad --devices with --json: exit 2, the error object on stdout as every command prints it', async () => {
    const r = await cli(['--devices', '1.5', '--json'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({error: {message: '--devices "1.5" is not a whole number; allowed: a whole number of devices from 1 to 100,000,000', exitCode: 2}})
  })

  it('a good run exits 0 with the plan', async () => {
    const r = await cli(['-n', '5000', '--json'])
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.stdout).tier).toBe('small')
  })
})
