import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {applyLinux, planApply, requireRoot, SCRIPT_DIR, TuneError} from '../../src/tune/apply.js'
import {renderTuneFiles} from '../../src/tune/index.js'
import {fakeRoot, getKey, procLimits} from './fake-root.js'

const medium = tierByName('medium')

describe('tune --apply (library)', () => {
  it('refuses without root on the real machine, before reading or changing anything', async () => {
    expect(() => requireRoot('/', 1000)).toThrow(TuneError)
    expect(() => requireRoot('/', 1000)).toThrow(/must run as root .*nothing was changed/)
    let asked = false
    await expect(
      applyLinux({tier: medium, uid: 1000, confirm: async () => (asked = true)}),
    ).rejects.toThrow(/must run as root/)
    expect(asked).toBe(false)
  })

  it('shows the plan, and changes nothing when not confirmed', async () => {
    const root = fakeRoot()
    const result = await applyLinux({tier: medium, root, confirm: async () => false})
    expect(result.applied).toBe(false)
    expect(result.plan.changes).toContainEqual({key: 'net.core.somaxconn', current: '4096', next: '32768'})
    expect(result.plan.changes.find((c) => c.key === 'net.ipv4.tcp_timestamps')).toBeUndefined()
    expect(result.plan.files.map((f) => f.action)).toEqual(['create', 'create', 'create'])
    expect(getKey(root, 'net.core.somaxconn')).toBe('4096')
    expect(existsSync(join(root, 'etc'))).toBe(false)
  })

  it('applies through apply.sh when confirmed: backed up, values set, verified, scripts kept for restore', async () => {
    const root = fakeRoot({}, procLimits(medium.os.openFiles, 'unlimited'))
    const result = await applyLinux({tier: medium, devices: 50_000, root, confirm: async () => true})
    expect(result.exitCode).toBe(0)
    expect(result.output).toContain('verify: every value in')
    expect(getKey(root, 'net.core.somaxconn')).toBe('32768')
    expect(result.after!.ok).toBe(true)
    expect(result.scriptDir).toBe(join(root, SCRIPT_DIR))
    expect(existsSync(join(root, SCRIPT_DIR, 'apply.sh'))).toBe(true)
    expect(readFileSync(join(root, 'var/backups/mqtt-tune/latest'), 'utf8')).toContain('var/backups/mqtt-tune/')
    const again = planApply(medium, renderTuneFiles({os: 'linux', tier: medium, devices: 50_000}), root)
    expect(again.changes).toEqual([])
    expect(again.files.find((f) => f.dest.includes('limits.d'))!.action).toBe('unchanged')
  })
})
