import {runCommand} from '@oclif/test'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {sysctlEntries} from '../../src/tune/linux.js'
import {fakeRoot, procLimits} from '../tune/fake-root.js'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const

function configFile(body: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-cmd-'))
  const file = join(dir, 'broker.json')
  writeFileSync(file, JSON.stringify({dataDir: join(dir, 'data'), ...body}))
  return file
}

describe('mqttctl doctor', () => {
  it('--json: every check with status, detail and fix; exit 1 when the configuration is too small for the plan', async () => {
    const file = configFile({listeners: [{host: '127.0.0.1', port: 0}]})
    const {stdout, error} = await runCommand(['doctor', '--devices', '50k', '--config', file, '--json', '--root', fakeRoot({}, procLimits(200_000, 'unlimited'))], {root}, opts)
    expect(error?.oclif?.exit).toBe(1)
    const report = JSON.parse(stdout)
    expect(report).toMatchObject({ok: false, devices: 50_000, tier: 'medium', config: file})
    expect(report.checks.map((c: {id: string}) => c.id)).toEqual(['node', 'config', 'os-limits', 'port-0', 'tls', 'auth', 'acl', 'listen-address', 'data-dir', 'store', 'log-level', 'monitoring', 'backup'])
    expect(report.checks.find((c: {id: string}) => c.id === 'config')).toMatchObject({status: 'fail', fix: expect.stringContaining('--devices 50000')})
    for (const c of report.checks) expect(['pass', 'warn', 'fail']).toContain(c.status)
    expect(report.summary.fail).toBe(report.checks.filter((c: {status: string}) => c.status === 'fail').length)
  })

  it('exit 0 and a table when nothing fails', async () => {
    const tier = tierByName('small')
    const tuned = fakeRoot(Object.fromEntries(sysctlEntries(tier).map((e) => [e.key, e.value])), procLimits(65_535, 'unlimited'))
    const file = configFile({listeners: [{host: '0.0.0.0', port: 0}]})
    const {stdout, error} = await runCommand(['doctor', '--devices', '5000', '--config', file, '--root', tuned], {root}, opts)
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/^pass  OS limits vs the plan\n {6}open files 65535 and every kernel setting meet the small tier$/m)
    expect(stdout).toMatch(/^ {6}fix: cp .*broker\.json/m)
    // 80 columns when piped: every line fits, the long details wrap under their check
    for (const line of stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80)
    expect(stdout.trimEnd()).toMatch(/For 5,000 devices \(small tier\): \d+ pass, \d+ warn, 0 fail\.$/)
  })

  it('an invalid configuration file is a failed check naming the value', async () => {
    const file = configFile({logLevel: 'loud'})
    const {stdout, error} = await runCommand(['doctor', '--config', file, '--json'], {root}, opts)
    expect(error?.oclif?.exit).toBe(1)
    const config = JSON.parse(stdout).checks.find((c: {id: string}) => c.id === 'config')
    expect(config).toMatchObject({status: 'fail', detail: expect.stringContaining('logLevel = "loud" is not allowed: expected one of debug, info, warn, error')})
  })

  const bad: Array<[string[], RegExp]> = [
    [['--devices', 'many'], /--devices "many" is not a number; allowed: a whole number of devices/],
    [['--devices', '0'], /--devices "0" is too small/],
    [['--config', '/nonexistent/broker.json'], /--config "\/nonexistent\/broker.json": no such file/],
  ]
  for (const [args, message] of bad) {
    it(`bad input ${args.join(' ')}: one line, exit 2`, async () => {
      const {stdout, stderr, error} = await runCommand(['doctor', ...args], {root}, opts)
      expect(error?.oclif?.exit).toBe(2)
      expect(stderr.trim()).toMatch(message)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stdout).toBe('')
    })
  }

  it('reports this machine truthfully: the Node.js version and the shell\'s ulimit -n', async () => {
    const {stdout} = await runCommand(['doctor', '--devices', '5000', '--json'], {root}, opts)
    const report = JSON.parse(stdout)
    expect(report.checks[0].detail).toContain(`Node.js ${process.versions.node}`)
    const os = report.checks.find((c: {id: string}) => c.id === 'os-limits')
    expect(['pass', 'warn', 'fail']).toContain(os.status)
    expect(report.ok).toBe(report.summary.fail === 0)
  })
})
