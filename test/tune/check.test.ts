import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tierByName, TIERS} from '../../src/sizing/tiers.js'
import {checkLinux, parseProcLimits, parseUnit} from '../../src/tune/check.js'
import {compareValue, mergeValue} from '../../src/tune/compare.js'
import {renderTuneFiles} from '../../src/tune/index.js'
import {sysctlEntries} from '../../src/tune/linux.js'
import {fakeRoot, procLimits, STOCK} from './fake-root.js'

describe('compareValue / mergeValue', () => {
  const rows: Array<[Parameters<typeof compareValue>[0], string, string, string, string]> = [
    // mode, running, recommended, status, value to set
    ['min', '4096', '65535', 'too low', '65535'],
    ['min', '200000', '65535', 'ok', '200000'],
    ['min', '4096\t131072\t6291456', '4096 87380 134217728', 'too low', '4096 131072 134217728'],
    ['min', '9223372036854775807', '4194304', 'ok', '9223372036854775807'],
    ['max', '60', '30', 'too high', '30'],
    ['max', '10', '30', 'ok', '10'],
    ['range', '32768\t60999', '1024 65535', 'too narrow', '1024 65535'],
    ['range', '1024\t65535', '1024 65535', 'ok', '1024 65535'],
    ['range', '1000 65535', '1024 65535', 'ok', '1000 65535'],
    ['set', '2', '1', 'differs', '1'],
    ['set', '', '1883,8883', 'differs', '1883,8883'],
    ['set', '1883,8883', '1883,8883', 'ok', '1883,8883'],
  ]
  for (const [mode, cur, rec, status, next] of rows) {
    it(`${mode} ${JSON.stringify(cur)} vs ${rec}: ${status}, set ${next}`, () => {
      expect(compareValue(mode, cur, rec)).toBe(status)
      expect(mergeValue(mode, cur, rec)).toBe(next)
    })
  }
})

describe('parsers', () => {
  it('reads soft limits from /proc/<pid>/limits', () => {
    expect(parseProcLimits(procLimits(20_000, 'unlimited'))).toMatchObject({'Max open files': 20_000, 'Max processes': Infinity})
    expect(parseProcLimits(readFileSync('/proc/self/limits', 'utf8'))['Max open files']).toBeGreaterThan(0)
  })

  it('reads sections and keys of a unit file', () => {
    expect(parseUnit('# c\n[Unit]\nA=1\n\n[Service]\nLimitNOFILE=10:20\nLimitNOFILE=30\n')).toEqual({Unit: {A: '1'}, Service: {LimitNOFILE: '30'}})
  })
})

describe('checkLinux on a fake root', () => {
  it('a stock kernel is short of every tier, naming each key and how', () => {
    for (const tier of TIERS) {
      const result = checkLinux({tier, root: fakeRoot()})
      expect(result.ok).toBe(false)
      expect(result.kernel).toBe('6.1.0-test')
      const byKey = Object.fromEntries(result.rows.map((r) => [r.key, r]))
      expect(byKey['net.core.somaxconn']).toMatchObject({current: '4096', recommended: String(tier.os.somaxconn), status: tier.os.somaxconn > 4096 ? 'too low' : 'ok'})
      expect(byKey['net.ipv4.ip_local_port_range']).toMatchObject({current: '32768 60999', status: 'too narrow'})
      expect(byKey['ulimit -n (open files)']).toMatchObject({current: '1024', recommended: String(tier.os.openFiles), status: 'too low'})
      expect(byKey['mqtt-broker.service'].status).toBe('not installed')
      expect(result.short).toBe(result.rows.filter((r) => !['ok', 'n/a', 'not installed'].includes(r.status)).length)
    }
  })

  it('a tuned machine with the unit installed passes; a low LimitNOFILE in the unit fails', () => {
    const tier = tierByName('medium')
    const tuned = Object.fromEntries(sysctlEntries(tier).map((e) => [e.key, e.value]))
    const root = fakeRoot(tuned, procLimits(tier.os.openFiles, 'unlimited'))
    const unit = renderTuneFiles({os: 'linux', tier}).find((f) => f.path === 'systemd/mqtt-broker.service')!.content
    mkdirSync(join(root, 'etc/systemd/system'), {recursive: true})
    writeFileSync(join(root, 'etc/systemd/system/mqtt-broker.service'), unit)
    const ok = checkLinux({tier, root})
    expect(ok.rows.filter((r) => r.status !== 'ok')).toEqual([])
    expect(ok.ok).toBe(true)
    writeFileSync(join(root, 'etc/systemd/system/mqtt-broker.service'), unit.replace(/LimitNOFILE=\d+/, 'LimitNOFILE=1024:524288'))
    const low = checkLinux({tier, root})
    expect(low.rows.find((r) => r.key.startsWith('LimitNOFILE'))).toMatchObject({current: '1024', status: 'too low'})
    expect(low.ok).toBe(false)
  })

  it('flags tcp_tw_recycle=1 on an old kernel that still has it, and an optional key that is missing is n/a', () => {
    const root = fakeRoot({'net.ipv4.tcp_tw_recycle': '1', 'net.netfilter.nf_conntrack_max': undefined})
    const rows = checkLinux({tier: tierByName('large'), root}).rows
    expect(rows.find((r) => r.key === 'net.ipv4.tcp_tw_recycle')).toMatchObject({status: 'differs', recommended: '0'})
    expect(rows.find((r) => r.key === 'net.netfilter.nf_conntrack_max')).toMatchObject({status: 'n/a'})
    expect(STOCK['net.ipv4.tcp_tw_recycle']).toBeUndefined()
  })
})

describe('checkLinux on this machine', () => {
  it('reports the running values truthfully: /proc/sys as sysctl reads it, ulimit as a shell sees it', () => {
    const result = checkLinux({tier: tierByName('large')})
    for (const row of result.rows.filter((r) => r.source === 'sysctl' && r.status !== 'n/a' && r.status !== 'missing')) {
      const sysctl = execFileSync('sysctl', ['-n', row.key], {encoding: 'utf8'}).trim().replace(/\s+/g, ' ')
      expect(row.current, row.key).toBe(sysctl === '' ? '(empty)' : sysctl)
    }
    const shell = execFileSync('sh', ['-c', 'ulimit -n'], {encoding: 'utf8'}).trim()
    expect(result.rows.find((r) => r.key === 'ulimit -n (open files)')!.current).toBe(shell)
    expect(result.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim())
  })
})
