import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {mergeValue} from '../../src/tune/compare.js'
import {renderTuneFiles} from '../../src/tune/index.js'
import {sysctlEntries} from '../../src/tune/linux.js'
import {fakeRoot, getKey, LARGE_KEYS, STOCK, setKey} from './fake-root.js'

const large = tierByName('large')

function writeScripts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-tune-out-'))
  for (const f of renderTuneFiles({os: 'linux', tier: large, devices: 250_000})) {
    mkdirSync(dirname(join(dir, f.path)), {recursive: true})
    writeFileSync(join(dir, f.path), f.content)
    chmodSync(join(dir, f.path), f.mode ?? 0o644)
  }
  return dir
}

const run = (dir: string, root: string, ...args: string[]) => spawnSync(join(dir, 'apply.sh'), args, {encoding: 'utf8', env: {...process.env, MQTT_TUNE_ROOT: root}})

describe('apply.sh on a fake root', () => {
  it('the fake root covers every key of the large tier', () => {
    expect(Object.keys(STOCK).sort()).toEqual([...LARGE_KEYS].sort())
  })

  it('backs up, sets each value as the TypeScript merge predicts (never lowering a higher one), installs the files and verifies', () => {
    const root = fakeRoot({'net.core.somaxconn': '200000'})
    const dir = writeScripts()
    const r = run(dir, root, 'apply')
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^backup: .*var\/backups\/mqtt-tune\//m)
    expect(r.stdout).toContain('verify: every value in')
    for (const e of sysctlEntries(large)) {
      const before = ({...STOCK, 'net.core.somaxconn': '200000'} as Record<string, string>)[e.key]!.replace(/\s+/g, ' ')
      expect(getKey(root, e.key), e.key).toBe(mergeValue(e.mode, before, e.value))
    }
    expect(getKey(root, 'net.core.somaxconn')).toBe('200000')
    expect(getKey(root, 'fs.file-max')).toBe('9223372036854775807')
    expect(getKey(root, 'net.ipv4.tcp_rmem')).toBe('4096 131072 134217728')
    const installed = readFileSync(join(root, 'etc/sysctl.d/99-mqtt.conf'), 'utf8')
    expect(installed).toMatch(/^net\.core\.somaxconn = 200000$/m)
    expect(installed).toMatch(/^fs\.file-max = 9223372036854775807$/m)
    expect(existsSync(join(root, 'etc/security/limits.d/99-mqtt.conf'))).toBe(true)
    expect(existsSync(join(root, 'etc/systemd/system/mqtt-broker.service'))).toBe(true)
    expect(run(dir, root, 'verify').status).toBe(0)
  })

  it('restore puts back every value and removes the files that were not there before', () => {
    const root = fakeRoot()
    const dir = writeScripts()
    expect(run(dir, root, 'apply').status).toBe(0)
    expect(getKey(root, 'net.core.somaxconn')).toBe('65535')
    const r = run(dir, root, 'restore')
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    for (const [key, value] of Object.entries(STOCK)) expect(getKey(root, key), key).toBe(value.replace(/\s+/g, ' '))
    expect(existsSync(join(root, 'etc/sysctl.d/99-mqtt.conf'))).toBe(false)
    expect(existsSync(join(root, 'etc/systemd/system/mqtt-broker.service'))).toBe(false)
  })

  it('restore puts back a file that existed before', () => {
    const root = fakeRoot()
    mkdirSync(join(root, 'etc/security/limits.d'), {recursive: true})
    writeFileSync(join(root, 'etc/security/limits.d/99-mqtt.conf'), '* soft nofile 4096\n')
    const dir = writeScripts()
    expect(run(dir, root, 'apply').status).toBe(0)
    expect(readFileSync(join(root, 'etc/security/limits.d/99-mqtt.conf'), 'utf8')).toContain('root      hard    nofile   2000000')
    expect(run(dir, root, 'restore').status).toBe(0)
    expect(readFileSync(join(root, 'etc/security/limits.d/99-mqtt.conf'), 'utf8')).toBe('* soft nofile 4096\n')
  })

  it('skips an optional key the kernel lacks, comments out an unknown one, and verify catches a value that changed since', () => {
    const root = fakeRoot({'net.netfilter.nf_conntrack_max': undefined, 'net.ipv4.tcp_slow_start_after_idle': undefined})
    const dir = writeScripts()
    const r = run(dir, root, 'apply')
    expect(r.stdout).toContain('skip  net.netfilter.nf_conntrack_max (not present on this kernel; optional)')
    expect(r.stdout).toMatch(/skip {2}net\.ipv4\.tcp_slow_start_after_idle \(unknown to kernel/)
    expect(r.status).toBe(0)
    const installed = readFileSync(join(root, 'etc/sysctl.d/99-mqtt.conf'), 'utf8')
    expect(installed).toMatch(/^# net\.ipv4\.tcp_slow_start_after_idle = 0 +# unknown to kernel/m)
    expect(installed).toMatch(/^-net\.netfilter\.nf_conntrack_max = 2097152$/m)
    setKey(root, 'net.core.somaxconn', '128')
    const v = run(dir, root, 'verify')
    expect(v.status).toBe(1)
    expect(v.stdout).toContain('DIFFERS  net.core.somaxconn: running 128, file 65535')
  })

  it('restore without a backup says so and changes nothing', () => {
    const root = fakeRoot()
    const r = run(writeScripts(), root, 'restore')
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/no backup under .*var\/backups\/mqtt-tune/)
    expect(getKey(root, 'net.core.somaxconn')).toBe('4096')
    rmSync(root, {recursive: true, force: true})
  })

  it('rejects an unknown sub-command with exit 2', () => {
    const r = run(writeScripts(), fakeRoot(), 'bogus')
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/usage: .*apply\|verify\|restore/)
  })
})
