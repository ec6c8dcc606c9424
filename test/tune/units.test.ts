/** The small pieces of src/tune: the file header, template filling, choosing the tier, the --check and --apply text. */
import chalk from 'chalk'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {fleetLine, hashHeader, xmlHeader} from '../../src/tune/header.js'
import {renderApplyPlan, renderCheck} from '../../src/tune/report.js'
import {currentOs, resolveTarget} from '../../src/tune/target.js'
import {fill, renderTemplate} from '../../src/tune/template.js'

let level: typeof chalk.level
beforeAll(() => {
  level = chalk.level
  chalk.level = 0
})
afterAll(() => {
  chalk.level = level
})

const small = tierByName('small')
const large = tierByName('large')

describe('header', () => {
  it('fleetLine: tier and fleet, per node when scaled out', () => {
    expect(fleetLine(small)).toBe('tier small (MAX_CONNECTIONS 10,000); no device count given (tier chosen directly)')
    expect(fleetLine(small, 5000)).toBe('tier small (MAX_CONNECTIONS 10,000) for 5,000 devices')
    expect(fleetLine(large, 750_000, 4)).toBe('tier large (MAX_CONNECTIONS 1,000,000); 750,000 devices on each of 4 nodes')
  })

  const header = {purpose: 'kernel parameters', install: '/etc/sysctl.d/', tier: small, devices: 10, guideSection: '§3.2', differences: ['no --tw-recycle', 'backlogs per tier']}

  it('hash header: every line a comment, differences listed', () => {
    expect(hashHeader(header).split('\n')).toEqual([
      '# mqttctl tune: kernel parameters',
      '# Install: /etc/sysctl.d/',
      '# For: tier small (MAX_CONNECTIONS 10,000) for 10 devices',
      '# Source: deployment guide §3.2. Where this file differs from the guide, and why:',
      '#   - no --tw-recycle',
      '#   - backlogs per tier',
    ])
  })

  it('XML header: no "--" inside the comment', () => {
    const xml = xmlHeader(header)
    expect(xml.startsWith('<!--\n')).toBe(true)
    expect(xml.endsWith('\n-->')).toBe(true)
    expect(xml.slice(4, -3)).not.toContain('--')
    expect(xml).toContain('no - -tw-recycle')
  })
})

describe('template', () => {
  it('fills every placeholder, spaces inside the braces allowed', () => {
    expect(fill('a={{ one }} b={{two}} a={{one}}', {one: '1', two: '2'})).toBe('a=1 b=2 a=1')
  })

  it('a placeholder without a value, or a value nobody asked for, throws naming it', () => {
    expect(() => fill('x={{missing}}', {}, 't.tpl')).toThrow('t.tpl: no value for {{missing}}')
    expect(() => fill('x={{a}}', {a: '1', b: '2'}, 't.tpl')).toThrow('t.tpl: values given but not used: b')
  })

  it('renderTemplate reads templates/ and is just as strict', () => {
    expect(() => renderTemplate('linux/sysctl.conf.tpl', {})).toThrow(/linux\/sysctl\.conf\.tpl: no value for \{\{/)
  })
})

describe('resolveTarget: the tier the files are for', () => {
  it('neither --devices nor --tier: the small tier, with a note saying so', () => {
    expect(resolveTarget({})).toEqual({tier: small, nodes: 1, notes: ['no --devices or --tier given: tier small (up to 9,999 devices)']})
  })

  it('--tier picks it directly; an unknown tier is refused', () => {
    expect(resolveTarget({tier: 'large'})).toEqual({tier: large, nodes: 1, notes: []})
    expect(() => resolveTarget({tier: 'huge'})).toThrow('--tier "huge" is not allowed; allowed: small, medium, large')
    expect(() => resolveTarget({tier: 'small', devices: '5'})).toThrow('--devices and --tier are not allowed together; give one of them')
  })

  it('--devices goes through plan; above one node the files are per node', () => {
    const one = resolveTarget({devices: '50k'})
    expect([one.tier.name, one.devices, one.nodes]).toEqual(['medium', 50_000, 1])
    const many = resolveTarget({devices: '3M'})
    expect(many.tier.name).toBe('large')
    expect(many.nodes).toBeGreaterThan(1)
    expect(many.devices! * many.nodes).toBeGreaterThanOrEqual(3_000_000)
    expect(many.notes.at(-1)).toBe(`these files are for each of the ${many.nodes} nodes (${many.devices!.toLocaleString('en-US')} devices each)`)
  })

  it('currentOs maps Node platforms; others have no files', () => {
    expect([currentOs('linux'), currentOs('win32'), currentOs('darwin'), currentOs('aix')]).toEqual(['linux', 'windows', 'macos', undefined])
  })
})

describe('report text', () => {
  const rows = [
    {key: 'net.core.somaxconn', source: 'sysctl' as const, current: '4096', recommended: '32768', status: 'too low' as const},
    {key: 'mqtt-broker.service', source: 'systemd' as const, current: 'not installed', recommended: 'installed', status: 'not installed' as const, note: 'fine with mqttctl start'},
  ]

  it('renderCheck: the table, a note under its row, and what to do when short', () => {
    const text = renderCheck({tier: 'medium', kernel: '6.1', rows, short: 1, ok: false}, 80)
    expect(text.split('\n')).toEqual([
      'key                  current        recommended  status',
      'net.core.somaxconn   4096           32768        too low',
      'mqtt-broker.service  not installed  installed    not installed',
      '    (fine with mqttctl start)',
      '',
      '1 of 2 checks fall short of the medium tier (kernel 6.1). Fix: mqttctl tune',
      '--out DIR, then sudo DIR/apply.sh (or sudo mqttctl tune --apply).',
    ])
    expect(renderCheck({tier: 'small', kernel: '6.1', rows: [], short: 0, ok: true}, 80)).toContain('All 0 checks meet the small tier (kernel 6.1).')
  })

  it('renderApplyPlan: kernel changes, skipped keys and file diffs', () => {
    const text = renderApplyPlan({
      changes: [{key: 'net.core.somaxconn', current: '4096', next: '32768'}],
      skipped: ['net.netfilter.nf_conntrack_max'],
      files: [{action: 'replace', dest: '/etc/sysctl.d/99-mqtt.conf', diff: ['-a = 1', '+a = 2']}],
    } as never)
    expect(text.split('\n')).toEqual([
      'Kernel parameters to change:',
      '  net.core.somaxconn  4096  ->  32768',
      '  skip net.netfilter.nf_conntrack_max: not on this kernel',
      'Files:',
      '  replace   /etc/sysctl.d/99-mqtt.conf',
      '      -a = 1',
      '      +a = 2',
    ])
    expect(renderApplyPlan({changes: [], skipped: [], files: []})).toBe('Kernel parameters: nothing to change.\nFiles:')
  })
})
