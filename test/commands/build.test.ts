import {runCommand} from '@oclif/test'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-build-cmd-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

describe('mqttctl build', () => {
  it('shows progress for each step and a summary of what was written with sizes', async () => {
    const dir = tmp()
    const out = join(dir, 'mqtt-broker')
    const {stdout, stderr, error} = await runCommand(['build', '--devices', '50000', '--archive', '--out', out], {root}, opts)
    expect(error).toBeUndefined()
    expect(stderr).toContain('50,000 devices: medium tier')
    expect(stderr.match(/^\[\d\/3\] .*/gm)).toHaveLength(3)
    expect(stderr).toContain('[1/3] bundling the broker runtime with esbuild')
    expect(stdout).toContain(`Built mqtt-broker`)
    expect(stdout.replace(/\s+/g, ' ')).toContain('tier medium (50,000 devices), optimize fast, JavaScript bundle + launcher')
    // 80 columns when not a terminal (found by QA: the headline and file descriptions ran to 140).
    // Lines naming the output path (absolute, or relative to the working directory) may be longer.
    const paths = [dir, relative(process.cwd(), dir)]
    for (const line of stdout.split('\n')) if (!paths.some((p) => line.includes(p)) && line.trim().includes(' ')) expect(line.length, line).toBeLessThanOrEqual(80)
    expect(stdout).toMatch(/bin\/broker\.mjs\s+\d+(\.\d)? (KB|MB)/)
    expect(stdout).toMatch(/total\s+\d+(\.\d)? (KB|MB)\s+15 files/)
    expect(stdout).toContain(`archive ${out}.tar.gz (`)
    expect(readdirSync(dir).sort()).toEqual(['mqtt-broker', 'mqtt-broker.tar.gz'])
  })

  it('--json returns the result: files with sizes and SHA-256, no progress lines', async () => {
    const out = join(tmp(), 'b')
    const {stdout, stderr, error} = await runCommand(['build', '--tier', 'large', '--optimize', 'small', '--out', out, '--json'], {root}, opts)
    expect(error).toBeUndefined()
    expect(stderr).toBe('')
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({out, archive: null, tier: 'large', devices: null, optimize: 'small', singleExecutable: false})
    const bundle = result.files.find((f: {path: string}) => f.path === 'bin/broker.mjs')
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.parse(readFileSync(join(out, 'etc/broker.json'), 'utf8')).maxConnections).toBe(1_000_000)
  })

  it('--target windows with --single-executable: bundle and .cmd launcher, Windows scripts, and says why', async () => {
    const out = join(tmp(), 'win')
    const {stderr, error} = await runCommand(['build', '--target', 'windows-x64', '--single-executable', '--out', out], {root}, opts)
    expect(error).toBeUndefined()
    expect(stderr).toContain('cannot produce a single executable for windows-x64')
    expect(stderr).toContain('writing the JavaScript bundle bin/broker.mjs and a launcher instead')
    expect(readdirSync(join(out, 'bin')).sort()).toEqual(['broker.mjs', 'mqtt-broker.cmd', 'package.json'])
    expect(readdirSync(join(out, 'scripts')).sort()).toEqual(['tune.ps1', 'undo.ps1', 'verify.ps1'])
    expect(existsSync(join(out, 'systemd'))).toBe(false)
    expect(readFileSync(join(out, 'bin/mqtt-broker.cmd'), 'utf8')).toMatch(/^node --max-semi-space-size=2 --max-old-space-size=\d+ "%~dp0broker\.mjs" %\*\r$/m)
  })

  const bad: Array<[string[], RegExp]> = [
    [['--optimize', 'tiny'], /^Error: --optimize "tiny" is not allowed; allowed: fast, small, safe\n$/],
    [['--tier', 'huge'], /^Error: --tier "huge" is not allowed; allowed: small, medium, large\n$/],
    [['--devices', '0'], /^Error: --devices "0" is too small; allowed: a whole number of devices from 1 to/],
    [['--devices', '10', '--config', 'x.json'], /^Error: --devices, --tier and --config are not allowed together; give one of them\n$/],
    [['--target', 'beos'], /^Error: --target "beos" is not allowed; allowed: linux, windows, macos/],
  ]
  for (const [args, message] of bad) {
    it(`bad input ${args.join(' ')}: one line, exit 2, nothing written`, async () => {
      const dir = tmp()
      const {stderr, error} = await runCommand(['build', ...args, '--out', join(dir, 'out'), '--archive'], {root}, opts)
      expect(error?.oclif?.exit).toBe(2)
      expect(stderr).toMatch(message)
      expect(readdirSync(dir)).toEqual([])
    })
  }

  it('refuses an existing --out (exit 2, untouched) and replaces it with --force', async () => {
    const dir = tmp()
    const out = join(dir, 'mqtt-broker')
    mkdirSync(out)
    writeFileSync(join(out, 'keep'), 'x')
    const refused = await runCommand(['build', '--out', out], {root}, opts)
    expect(refused.error?.oclif?.exit).toBe(2)
    expect(refused.stderr).toBe(`Error: --out ${out} already exists; pass --force to replace it or choose another --out\n`)
    expect(readdirSync(out)).toEqual(['keep'])
    // --force replaces an earlier build, never a directory of other files (found by QA: `--out ""
    // --force` wiped the working directory).
    const foreign = await runCommand(['build', '--out', out, '--force'], {root}, opts)
    expect(foreign.error?.oclif?.exit).toBe(2)
    expect(foreign.stderr).toBe(`Error: --out ${out} exists and --force will not replace it: it is not a \`mqttctl build\` output (no manifest.json of mqtt-broker in it); choose another --out or remove it yourself\n`)
    expect(readdirSync(out)).toEqual(['keep'])
    rmSync(join(out, 'keep'))
    expect((await runCommand(['build', '--out', out, '--tier', 'medium', '--force'], {root}, opts)).error).toBeUndefined()
    const forced = await runCommand(['build', '--out', out, '--force'], {root}, opts)
    expect(forced.error).toBeUndefined()
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).build.tier).toBe('small')
    expect(existsSync(join(out, 'bin/mqtt-broker'))).toBe(true)
    expect(readdirSync(dir)).toEqual(['mqtt-broker'])
  })
})
