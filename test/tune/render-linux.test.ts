/** src/tune/render-linux.ts directly: each file from its options (tier, devices, nodes, user, install dir, node flags). */
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {KERNEL_NR_OPEN_DEFAULT, linuxLimits, sysctlEntries} from '../../src/tune/linux.js'
import {applyScript, limitsFile, LINUX_DEST, linuxFiles, sysctlFile, unitFile} from '../../src/tune/render-linux.js'

const tier = tierByName('medium')
const o = {os: 'linux' as const, tier, devices: 42_000, installDir: '/srv/mqtt', user: 'broker_1', nodeFlags: ['--max-semi-space-size=4', '--max-old-space-size=2048']}
const base = {tier, devices: 42_000}

describe('sysctlFile', () => {
  it('one commented key = value per entry, optional keys prefixed with "-", with the header', () => {
    const text = sysctlFile(o, base)
    expect(text.startsWith('# mqttctl tune: kernel network and file limits for the MQTT broker\n')).toBe(true)
    expect(text).toContain(`# Install: ${LINUX_DEST.sysctl}`)
    expect(text).toContain(`# For: tier medium (MAX_CONNECTIONS 100,000) for 42,000 devices`)
    for (const e of sysctlEntries(tier)) expect(text).toContain(`# ${e.why}\n${e.optional ? '-' : ''}${e.key} = ${e.value}`)
    expect(text).not.toContain('{{')
  })

  it('names the node count when the fleet is split', () => {
    expect(sysctlFile(o, {tier, devices: 600_000, nodes: 3})).toContain('# For: tier medium (MAX_CONNECTIONS 100,000); 600,000 devices on each of 3 nodes')
  })
})

describe('limitsFile', () => {
  it('soft and hard nofile and nproc for * and root, aligned, and the fs.nr_open ceiling', () => {
    const {openFiles, maxProcesses} = linuxLimits(tier)
    const text = limitsFile(o, base)
    const rows = text.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '')
    expect(rows).toEqual([
      `*         soft    nofile   ${openFiles}`,
      `*         soft    nproc    ${maxProcesses}`,
      `*         hard    nofile   ${openFiles}`,
      `*         hard    nproc    ${maxProcesses}`,
      `root      soft    nofile   ${openFiles}`,
      `root      soft    nproc    ${maxProcesses}`,
      `root      hard    nofile   ${openFiles}`,
      `root      hard    nproc    ${maxProcesses}`,
    ])
    const nrOpen = Math.max(KERNEL_NR_OPEN_DEFAULT, Number(sysctlEntries(tier).find((e) => e.key === 'fs.nr_open')?.value ?? 0))
    expect(text).toContain(`fs.nr_open (${nrOpen.toLocaleString('en-US')} after the sysctl file is applied)`)
  })
})

describe('unitFile', () => {
  it('runs as the given user from the given directory with the given node flags and the tier\'s limits', () => {
    const {openFiles, maxProcesses} = linuxLimits(tier)
    const text = unitFile(o, base)
    expect(text).toContain('Description=MQTT broker (mqttctl, tier medium)')
    expect(text).toContain('\nUser=broker_1\nGroup=broker_1\nWorkingDirectory=/srv/mqtt\n')
    expect(text).toContain('Environment="NODE_OPTIONS=--max-semi-space-size=4 --max-old-space-size=2048"')
    expect(text).toContain('ExecStart=/srv/mqtt/bin/mqtt-broker --config /srv/mqtt/etc/broker.json')
    expect(text).toContain(`LimitNOFILE=${openFiles}\nLimitNPROC=${maxProcesses}\n`)
    expect(text).toContain('ExecReload=/bin/kill -HUP $MAINPID')
  })

  it('without node flags: the plan\'s heap settings for the fleet (more devices, a larger heap limit)', () => {
    const heap = (devices?: number) => /--max-old-space-size=(\d+)/.exec(unitFile({...o, nodeFlags: undefined, devices}, base))?.[1]
    expect(Number(heap(500_000))).toBeGreaterThan(Number(heap(1000)))
    // No device count: sized for the tier's largest fleet.
    expect(heap(undefined)).toBe(heap(tier.maxDevices))
  })

})

describe('applyScript and linuxFiles', () => {
  it('apply.sh knows every sysctl key\'s mode and the service user, and passes bash -n', () => {
    const text = applyScript(o, base)
    for (const e of sysctlEntries(tier)) expect(text).toContain(`  [${e.key}]=${e.mode}`)
    expect(text).toContain('broker_1')
    const r = spawnSync('bash', ['-n'], {input: text, encoding: 'utf8'})
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('four files: the script executable, each described with where it goes', () => {
    const files = linuxFiles(o, base)
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['sysctl.d/99-mqtt.conf', undefined],
      ['limits.d/99-mqtt.conf', undefined],
      ['systemd/mqtt-broker.service', undefined],
      ['apply.sh', 0o755],
    ])
    expect(files[0].description).toContain(LINUX_DEST.sysctl)
    expect(files[2].description).toContain(LINUX_DEST.unit)
    expect(files[2].content).toBe(unitFile(o, base))
  })
})
