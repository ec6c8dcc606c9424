import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BuildError, resolvePlan} from '../../src/build/index.js'
import {parseTarget} from '../../src/build/options.js'
import {tierForConnections} from '../../src/sizing/tiers.js'
import {configForTier} from '../../src/config/index.js'
import {plan, tierByName} from '../../src/sizing/index.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-build-options-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const out = join(dir, 'mqtt-broker')
const linux = {os: 'linux' as const, arch: 'x64', name: 'linux-x64'}

function failure(input: Parameters<typeof resolvePlan>[0]): BuildError {
  try {
    resolvePlan(input, linux)
  } catch (error) {
    if (error instanceof BuildError) return error
    throw error
  }
  throw new Error('expected a BuildError')
}

describe('resolvePlan', () => {
  it('picks the tier from --devices, --tier or the default small tier', () => {
    expect(resolvePlan({devices: '50000', out}, linux)).toMatchObject({tier: {name: 'medium'}, devices: 50_000, optimize: 'fast', target: linux, out})
    expect(resolvePlan({tier: 'large', out}, linux).config.maxConnections).toBe(1_000_000)
    expect(resolvePlan({out}, linux).tier.name).toBe('small')
    const fleet = plan({devices: 3_000_000})
    expect(resolvePlan({devices: '3M', out}, linux)).toMatchObject({tier: {name: 'large'}, nodes: fleet.nodes, devices: fleet.scaleOut!.devicesPerNode})
  })

  it('ships a --config file validated, and sizes the OS files by its maxConnections', () => {
    const file = join(dir, 'mine.json')
    writeFileSync(file, JSON.stringify({maxConnections: 50_000, logLevel: 'warn'}))
    const plan = resolvePlan({config: file, out}, linux)
    expect(plan.config).toMatchObject({maxConnections: 50_000, logLevel: 'warn'})
    expect(plan.tier.name).toBe('medium')
    expect(tierForConnections(configForTier(tierByName('small')).maxConnections)).toMatchObject({name: 'small'})
  })

  it.each([
    [{devices: '5', tier: 'small'}, '--devices, --tier and --config are not allowed together'],
    [{devices: 'many'}, '--devices "many" is not a number; allowed: a whole number of devices'],
    [{tier: 'huge'}, '--tier "huge" is not allowed; allowed: small, medium, large'],
    [{optimize: 'tiny'}, '--optimize "tiny" is not allowed; allowed: fast, small, safe'],
    [{target: 'solaris'}, '--target "solaris" is not allowed; allowed: linux, windows, macos, optionally with -x64 or -arm64'],
    [{installDir: 'opt/x'}, '--install-dir "opt/x" is not allowed; allowed: an absolute path'],
    [{user: 'Root User'}, '--user "Root User" is not allowed'],
    [{config: '/nonexistent/broker.json'}, '--config: cannot read configuration file /nonexistent/broker.json'],
    [{out: '/nonexistent/dir/out'}, 'the directory /nonexistent/dir does not exist'],
  ])('refuses %j with one line (exit 2)', (input, message) => {
    const error = failure({out, ...input})
    expect(error.message).toContain(message)
    expect(error.message).not.toContain('\n')
    expect(error.exitCode).toBe(2)
  })

  it('refuses an existing --out or archive unless --force', () => {
    const existing = join(dir, 'exists')
    mkdirSync(existing)
    expect(failure({out: existing}).message).toContain(`--out ${existing} already exists; pass --force`)
    expect(resolvePlan({out: existing, force: true}, linux).force).toBe(true)
    writeFileSync(`${out}.tar.gz`, '')
    expect(failure({out, archive: true}).message).toContain(`the archive ${out}.tar.gz already exists`)
  })

  it('--force replaces only an empty directory or an earlier build, never a directory of other files', () => {
    // Found by QA: `build --out "" --force` (or --out .., /tmp, ~) deleted everything in that directory.
    const victim = join(dir, 'victim')
    mkdirSync(victim)
    writeFileSync(join(victim, 'precious.txt'), 'keep me')
    const refused = failure({out: victim, force: true})
    expect(refused.message).toContain(`--out ${victim} exists and --force will not replace it: it is not a \`mqttctl build\` output`)
    expect(refused.exitCode).toBe(2)
    expect(failure({out: '', force: true}).message).toBe('--out "" is not allowed; allowed: a directory path (default ./mqtt-broker)')

    const layout = join(dir, 'layout')
    mkdirSync(join(layout, 'bin'), {recursive: true})
    writeFileSync(join(layout, 'manifest.json'), JSON.stringify({manifestVersion: 1, name: 'mqtt-broker'}))
    expect(resolvePlan({out: layout, force: true}, linux).out).toBe(layout)
    // A broker was run in place: its data directory is not the build's to delete (once it holds anything).
    mkdirSync(join(layout, 'data'))
    expect(resolvePlan({out: layout, force: true}, linux).out).toBe(layout)
    writeFileSync(join(layout, 'data', 'broker.log'), '')
    expect(failure({out: layout, force: true}).message).toContain('it holds data, which mqttctl build did not write')

    const file = join(dir, 'a-file')
    writeFileSync(file, '')
    expect(failure({out: file, force: true}).message).toContain('it is not a directory')
    mkdirSync(join(dir, 'dir-archive.tar.gz'))
    expect(failure({out: join(dir, 'dir-archive'), archive: true, force: true}).message).toContain('is not a file')
  })
})

describe('parseTarget', () => {
  it('defaults to the host and keeps its arch for the same OS', () => {
    expect(parseTarget(undefined, linux)).toEqual(linux)
    expect(parseTarget('linux', {os: 'linux', arch: 'arm64', name: 'linux-arm64'})).toEqual({os: 'linux', arch: 'arm64', name: 'linux-arm64'})
    expect(parseTarget('windows', linux)).toEqual({os: 'windows', arch: 'x64', name: 'windows-x64'})
    expect(parseTarget('macos-arm64', linux)).toEqual({os: 'macos', arch: 'arm64', name: 'macos-arm64'})
  })
})
