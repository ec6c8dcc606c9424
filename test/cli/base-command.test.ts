import {runCommand} from '@oclif/test'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {relationErrorLine} from '../../src/cli/base-command.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const opts = {testNodeEnv: 'production'}

afterEach(() => {
  process.exitCode = undefined
})

describe('relationErrorLine: oclif flag relations in our words', () => {
  const flags = {
    out: {exclusive: ['check', 'apply']},
    check: {exclusive: ['apply', 'out']},
    apply: {exclusive: ['check', 'out']},
    yes: {dependsOn: ['apply']},
    both: {dependsOn: ['check', 'out']},
    free: {},
  }

  it('exclusive: the whole group, in declaration order, once any two of it are given', () => {
    expect(relationErrorLine(flags, ['check', 'out'])).toBe('--out, --check and --apply are not allowed together; give one of them')
    expect(relationErrorLine({a: {exclusive: ['b']}, b: {}}, ['b', 'a'])).toBe('--a and --b are not allowed together; give one of them')
  })

  it('dependsOn: the flags that are missing', () => {
    expect(relationErrorLine(flags, ['yes'])).toBe('--yes is only allowed with --apply')
    expect(relationErrorLine(flags, ['both'])).toBe('--both is only allowed with --check and --out')
    expect(relationErrorLine(flags, ['both', 'check'])).toBe('--both is only allowed with --out')
  })

  it('nothing to say when the given flags break no relation', () => {
    expect(relationErrorLine(flags, ['yes', 'apply', 'free'])).toBeUndefined()
    expect(relationErrorLine(flags, [])).toBeUndefined()
  })
})

describe('BaseCommand: a broken relation or a value outside a flag\'s options is one line, exit 2', () => {
  it.each([
    [['tune', '--yes'], '--yes is only allowed with --apply'],
    [['tune', '--check', '--out', 'x'], '--out, --check and --apply are not allowed together; give one of them'],
    [['tune', '--devices', '5000', '--tier', 'small'], '--devices and --tier are not allowed together; give one of them'],
    [['monitor', '--once', '--interval', '5'], '--once and --interval are not allowed together; give one of them'],
    // oclif's `options` check, in the same words as every other refusal
    [['tune', '--os', 'beos'], '--os "beos" is not allowed; allowed: linux, windows, macos'],
    [['tune', '--tier', 'huge'], '--tier "huge" is not allowed; allowed: small, medium, large'],
    [['build', '--optimize', 'tiny'], '--optimize "tiny" is not allowed; allowed: fast, small, safe'],
    [['bench', 'pub', '-q', '3', '-d', '1'], '--qos "3" is not allowed; allowed: 0, 1, 2'],
  ])('%j', async (args, message) => {
    const {stdout, stderr, error} = await runCommand(args, {root}, opts)
    expect(error?.oclif?.exit).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe(`Error: ${message}\n`)
  })
})
