import {runCommand} from '@oclif/test'
import {execa} from 'execa'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {PlanJson} from '../../commands/plan.js'
import {loadConfig} from '../../src/config/index.js'
import {ensureDist, RUN_BIN} from '../helpers/cli.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/plan', name), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-plan-'))
// No host profile of the machine running the tests: plans use the shipped one unless a test writes one here.
process.env.XDG_CONFIG_HOME = join(dir, 'config')
delete process.env.MQTTCTL_PROFILE
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
  it('500,000 devices: large tier, 1,000,000 / 4,095 / 100,000 / 5,000', async () => {
    const {stdout, stderr, error} = await run(['--devices', '500000'])
    expect(error).toBeUndefined()
    expect(stderr).toBe('')
    expect(stdout).toMatch(/maxConnections\s+1,000,000\n\s+ioEntries\s+4,095\n\s+clientPool\s+100,000\n\s+forwardBatchSize\s+5,000\n\s+logLevel\s+warn/)
  })

  it('500,000 devices --json: the same figures, memory consistent with the guide', async () => {
    const p = await json(['-n', '500,000'])
    expect(p).toMatchObject({tier: 'large', nodes: 1, broker: {maxConnections: 1_000_000, ioEntries: 4_095, clientPool: 100_000, forwardBatchSize: 5_000, logLevel: 'warn'}})
    expect(p.memory.connectionsBytes).toBe(500_000 * 11_000)
    expect(p.memory.totalBytes).toBe(5_500_000_000 + 3_500_000_000 + 210_000_000)
    expect(p.os).toMatchObject({openFiles: 2_000_000, somaxconn: 65_535, synBacklog: 65_535, netdevBacklog: 65_535})
    expect(p.next).toEqual(['mqttctl tune --os linux --devices 500000', 'mqttctl build --devices 500000', 'mqttctl start --config mqtt-broker/etc/broker.json'])
  })

  it.each([
    ['5000', 'small'],
    ['50000', 'medium'],
    ['10000', 'medium'],
    ['100k', 'large'],
  ])('%s devices -> %s', async (devices, tier) => {
    expect((await json(['--devices', devices])).tier).toBe(tier)
  })

  it.each([['1000000'], ['3000000']])('%s devices: per-node memory, CPU, OS limits and broadcast, and the cluster total', async (devices) => {
    const {stdout, error} = await run(['--devices', devices])
    expect(error).toBeUndefined()
    expect(stdout).toContain('Memory (each node)')
    expect(stdout).toContain('CPU (each node)')
    expect(stdout).toContain('OS limits (each node)')
    expect(stdout).toContain('Broadcast one message to every live device (each node)')
    expect(stdout).toMatch(/Cluster \(\d nodes, \d with a spare\)/)
    const p = await json(['--devices', devices])
    expect(p.memory.totalBytes).toBeGreaterThan(0)
    expect(p.runtime.memory.totalBytes).toBeGreaterThan(0)
    expect(p.cluster!.runtime.memoryBytes).toBe(p.nodes * p.runtime.memory.totalBytes)
    expect(JSON.stringify(p)).not.toContain('"memory":null')
  })
})

/**
 * Golden outputs: 5,000 / 50,000 / 500,000 / 3,000,000 devices with and without workload flags, text
 * and JSON, from the shipped runtime profile. UPDATE_GOLDEN=1 rewrites them (then read the diff).
 */
describe('golden outputs', () => {
  const WORKLOAD = (devices: number) => ['--active', String(devices * 0.8), '--msg-rate', String(devices / 5), '--payload', '512', '--qos', '1', '--subs-per-device', '2', '--retained', '1000']
  const cases = [5_000, 50_000, 500_000, 3_000_000].flatMap((d) => [
    {name: `${d}`, args: ['-n', String(d), '--profile', 'shipped']},
    {name: `${d}-workload`, args: ['-n', String(d), '--profile', 'shipped', ...WORKLOAD(d)]},
  ])
  const golden = (name: string, actual: string) => {
    const file = join(root, 'test/fixtures/plan', name)
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual)
    expect(actual).toBe(readFileSync(file, 'utf8'))
  }
  it.each(cases)('$name: text', async ({name, args}) => {
    const {stdout, stderr, error} = await run(args)
    expect(error).toBeUndefined()
    expect(stderr).toBe('')
    golden(`${name}.txt`, stdout)
  })
  it.each(cases)('$name: JSON', async ({name, args}) => {
    const {stdout, error} = await run([...args, '--json'])
    expect(error).toBeUndefined()
    golden(`${name}.json`, stdout)
  })
})

describe('runtime figures: every one traced to the shipped profile', () => {
  // Read the file as the package ships it, independently of src/sizing's loader.
  const shipped = JSON.parse(readFileSync(join(root, 'src/sizing/runtime-profile.json'), 'utf8'))
  const f = shipped.figures

  it('the shipped profile says where, when, with what and how it was measured', () => {
    expect(shipped).toMatchObject({profileVersion: 1, kind: 'shipped', node: expect.stringMatching(/^v\d+\./), command: expect.stringContaining('runtime-profile.ts')})
    expect(shipped.host).toMatchObject({name: expect.any(String), cores: expect.any(Number), memoryBytes: expect.any(Number)})
    expect(Date.parse(shipped.measuredAt)).not.toBeNaN()
    for (const k of ['baselineRssBytes', 'bytesPerConnectionIdle', 'bytesPerConnectionStorm', 'bytesPerSubscriptionIdle', 'bytesPerQueuedMessage', 'bytesPerRetainedMessage', 'cpuMicrosPerMessageIn', 'cpuMicrosPerDeliveryOut', 'cpuMicrosPerConnect', 'broadcastMicrosPerSubscriber']) {
      expect(f[k], k).toBeGreaterThan(0)
    }
    // WebSocket: measured once the runtime has the listener, else null with the reason.
    if (f.bytesPerWebSocketConnectionExtra === null) expect(shipped.notMeasured.bytesPerWebSocketConnectionExtra).toMatch(/WebSocket/)
    else expect(f.bytesPerWebSocketConnectionExtra).toBeGreaterThan(0)
  })

  it.each([[5_000], [50_000], [500_000], [3_000_000]])('%i devices with every workload flag', async (devices) => {
    const p = await json(['-n', String(devices), '--active', String(devices / 2), '--msg-rate', '20000', '--payload', '300', '--qos', '2', '--subs-per-device', '3', '--retained', '500', '--profile', 'shipped'])
    const w = p.cluster?.perNode ?? p.workload
    const r = p.runtime
    expect(r.profile).toMatchObject({kind: 'shipped', path: 'src/sizing/runtime-profile.json', host: shipped.host.name, measuredAt: shipped.measuredAt, node: shipped.node, command: shipped.command})
    expect(r.memory.baselineBytes).toBe(f.baselineRssBytes)
    expect(r.memory.connections.idleBytes).toBe(w.live * f.bytesPerConnectionIdle)
    expect(r.memory.connections.stormBytes).toBe(w.live * f.bytesPerConnectionStorm)
    expect(r.memory.subscriptions.idleBytes).toBe(w.live * 3 * f.bytesPerSubscriptionIdle)
    expect(r.memory.subscriptions.stormBytes).toBe(w.live * 3 * f.bytesPerSubscriptionStorm)
    expect(r.memory.retained.bytes).toBe(500 * (300 + f.bytesPerRetainedMessage))
    // QoS 2: a message waits 4 s in the outbound queue (the guide model's assumption).
    expect(r.memory.queue.bytes).toBe(Math.round(w.msgRate! * 4) * (300 + f.bytesPerQueuedMessage))
    const settled = f.baselineRssBytes + w.live * (f.bytesPerConnectionIdle + 3 * f.bytesPerSubscriptionIdle) + 500 * (300 + f.bytesPerRetainedMessage)
    const storm = f.baselineRssBytes + w.live * (f.bytesPerConnectionStorm + 3 * f.bytesPerSubscriptionStorm) + 500 * (300 + f.bytesPerRetainedMessage)
    expect(r.memory.totalBytes).toBe(Math.max(settled, storm) + r.memory.queue.bytes)
    expect(r.cpu.percentOfCore).toBe(Math.round((w.msgRate! * (f.cpuMicrosPerMessageIn + f.cpuMicrosPerDeliveryOut)) / 1e6 * 1000) / 10)
    expect(r.cpu.coresUsable).toBe(1)
    expect(r.cpu.maxDeliveriesPerSecond).toBe(Math.floor(0.8e6 / (f.cpuMicrosPerMessageIn + f.cpuMicrosPerDeliveryOut)))
    expect(r.cpu.reconnectStormSeconds).toBe(Math.round((w.live * f.cpuMicrosPerConnect) / 1e5) / 10)
    expect(r.broadcast.micros).toBe(Math.round(w.live * f.broadcastMicrosPerSubscriber))
    expect(r.tlsBytesPerConnection).toBe(f.bytesPerTlsConnectionExtra)
    expect(r.webSocketBytesPerConnection).toBe(f.bytesPerWebSocketConnectionExtra)
    expect(r.heap.maxOldSpaceMb).toBe(Math.max(512, Math.ceil((r.memory.totalBytes * 1.5) / 2 ** 20 / 64) * 64))
    expect(r.heap.nodeFlags).toEqual(['--max-semi-space-size=2', `--max-old-space-size=${r.heap.maxOldSpaceMb}`])
  })

  it('--explain names the profile figure, the file and the command behind each runtime figure', async () => {
    const p = await json(['-n', '50000', '--explain', '--profile', 'shipped', '--msg-rate', '1000'])
    const runtimeRows = p.explain!.filter((e) => e.figure.startsWith('runtime.'))
    expect(runtimeRows.map((e) => e.figure)).toEqual(expect.arrayContaining(['runtime.memory.baselineBytes', 'runtime.memory.connections', 'runtime.memory.subscriptions', 'runtime.memory.queue.bytes', 'runtime.memory.totalBytes', 'runtime.heap.maxOldSpaceMb', 'runtime.cpu.percentOfCore', 'runtime.broadcast.micros']))
    for (const e of runtimeRows.filter((r) => !r.figure.startsWith('runtime.memory.total') && !r.figure.startsWith('runtime.heap'))) {
      expect(e.source, e.figure).toMatch(/^figures\.\w+/)
      expect(e.source, e.figure).toContain(`src/sizing/runtime-profile.json (measured ${shipped.measuredAt} on ${shipped.host.name}`)
      expect(e.source, e.figure).toContain(shipped.command)
    }
    expect(runtimeRows.find((e) => e.figure === 'runtime.memory.connections')!.formula).toContain(`× ${f.bytesPerConnectionIdle.toLocaleString('en-US')} B settled`)
  })
})

describe('the runtime profile: shipped, or this host\'s', () => {
  it('a host profile replaces the shipped one; --profile shipped goes back', async () => {
    const shipped = JSON.parse(readFileSync(join(root, 'src/sizing/runtime-profile.json'), 'utf8'))
    const path = join(process.env.XDG_CONFIG_HOME!, 'mqttctl', 'runtime-profile.json')
    mkdirSync(dirname(path), {recursive: true})
    const host = {...shipped, kind: 'host', host: {...shipped.host, name: 'this-host'}, figures: {...shipped.figures, bytesPerConnectionIdle: 9_000, bytesPerConnectionStorm: 9_000}}
    writeFileSync(path, JSON.stringify(host))
    try {
      const p = await json(['-n', '50000'])
      expect(p.runtime.profile).toMatchObject({kind: 'host', path, host: 'this-host'})
      expect(p.runtime.memory.connections.idleBytes).toBe(50_000 * 9_000)
      const {stdout} = await run(['-n', '50000'])
      expect(stdout).toContain('Runtime profile: this host\'s')
      expect((await json(['-n', '50000', '--profile', 'shipped'])).runtime.profile.kind).toBe('shipped')
      // An unusable host profile: the shipped one, and a note saying why.
      writeFileSync(path, '{"profileVersion": 1, "kind": "host"')
      const q = await json(['-n', '50000'])
      expect(q.runtime.profile.kind).toBe('shipped')
      expect(q.notes[0]).toMatch(new RegExp(`^runtime profile ${path} is not valid JSON: .*; using the shipped profile$`))
    } finally {
      rmSync(path, {force: true})
    }
  })

  it('--profile host without one: a clear error naming the path and the command to run', async () => {
    const {stdout, stderr, error} = await run(['-n', '50000', '--profile', 'host'])
    expect(error?.oclif?.exit).toBe(1)
    expect(stdout).toBe('')
    const path = join(process.env.XDG_CONFIG_HOME!, 'mqttctl', 'runtime-profile.json')
    expect(stderr).toBe(`Error: no runtime profile at ${path}; \`mqttctl plan --devices N --verify\` measures this host and saves one\n`)
  })

  it('an older measured profile (bench calibrate before this format): says so', async () => {
    const path = join(dir, 'old-profile.json')
    writeFileSync(path, JSON.stringify({bytesPerConnection: 6_000, bytesPerSubscription: 400, broadcastMsPerThousand: 0.08, cpuMicrosPerMessage: 5, measuredAt: '2025-10-24T14:30:00Z', host: 'bench-1', brokerVersion: '0.1.0'}))
    const {stderr, error} = await run(['-n', '50000', '--profile', path])
    expect(error?.oclif?.exit).toBe(1)
    expect(stderr).toBe(`Error: ${path} is an older measured profile (bench calibrate before issue 14); run \`mqttctl plan --devices N --verify\` to replace it\n`)
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
    expect(p.memory.queue).toMatchObject({source: 'workload', bytes: 1_000_000 * 1_000 * 4})
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
    // The plan's V8 heap limit and semi-space, which start, the build launcher and the unit pass.
    const heap = (await json(['-n', '5000'])).runtime.heap
    expect(loadConfig({file}).config.runtime).toEqual({maxOldSpaceMb: heap.maxOldSpaceMb, maxSemiSpaceMb: 2})
    expect(first.stdout).toContain(`(V8 heap limit ${heap.maxOldSpaceMb} MB)`)

    const again = await run(['-n', '500000', '--write', file])
    expect(again.error?.oclif?.exit).toBe(2)
    expect(again.stderr).toBe(`Error: ${file} already exists; pass --force to overwrite it\n`)
    expect(again.stdout).toBe('')
    expect(loadConfig({file}).config.maxConnections).toBe(10_000)

    const forced = await run(['-n', '500000', '--write', file, '--force'])
    expect(forced.error).toBeUndefined()
    expect(loadConfig({file}).config.maxConnections).toBe(1_000_000)
    expect(loadConfig({file}).config.runtime.maxOldSpaceMb).toBe((await json(['-n', '500000'])).runtime.heap.maxOldSpaceMb)
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
    [['-n', '10', '--profile', 'best'], '--profile "best" is not allowed: no such file; allowed: shipped, host or a runtime profile FILE'],
    [['-n', '10', '--time-limit', '100'], '--time-limit is only allowed with --verify'],
    [['-n', '10', '--verify', '--time-limit', '5'], '--time-limit "5" is too small; allowed: a whole number of seconds from 60 to 3,600'],
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

describe('a real process', () => {
  // As a user runs it: no NODE_ENV=test from vitest (which turns on oclif's dev-mode path warning).
  const {NODE_ENV: _, ...env} = process.env
  // The shipped entry (bin/run.js over a fresh dist/; bin/dev.js keeps its case in test/commands/start.test.ts).
  beforeAll(() => ensureDist(), 300_000)
  const cli = (args: string[]) => execa('node', [RUN_BIN, 'plan', ...args], {cwd: dir, reject: false, stdin: 'pipe', env, extendEnv: false})

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
