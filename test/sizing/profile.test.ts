import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {type MeasuredProfile, ProfileError, defaultProfilePath, loadProfile, plan, saveProfile} from '../../src/sizing/index.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-profile-'))
const PROFILE: MeasuredProfile = {
  bytesPerConnection: 6_000,
  bytesPerSubscription: 400,
  broadcastMsPerThousand: 0.08,
  cpuMicrosPerMessage: 5,
  measuredAt: '2025-10-24T14:30:00Z',
  host: 'bench-1',
  brokerVersion: '0.1.0',
}

describe('measured profile', () => {
  it('saves (creating the directory) and loads back the same figures', () => {
    const path = join(dir, 'nested', 'profile.json')
    saveProfile(path, PROFILE)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(PROFILE)
    expect(loadProfile(path)).toEqual(PROFILE)
  })

  it('a missing profile says where it looked and what to run', () => {
    const path = join(dir, 'absent.json')
    expect(() => loadProfile(path)).toThrow(ProfileError)
    expect(() => loadProfile(path)).toThrow(`no measured profile at ${path}; run \`mqttctl bench calibrate\``)
  })

  it('refuses a damaged profile, naming the field', () => {
    const path = join(dir, 'bad.json')
    writeFileSync(path, JSON.stringify({...PROFILE, bytesPerConnection: 'lots'}))
    expect(() => loadProfile(path)).toThrow(`measured profile ${path}: bytesPerConnection = "lots" is not allowed: expected a number >= 0`)
    writeFileSync(path, '{not json')
    expect(() => loadProfile(path)).toThrow(/is not valid JSON/)
  })

  it('defaults to ~/.config/mqttctl/profile.json, MQTTCTL_PROFILE overrides', () => {
    expect(defaultProfilePath({MQTTCTL_PROFILE: '/x/p.json'})).toBe('/x/p.json')
    expect(defaultProfilePath({XDG_CONFIG_HOME: '/cfg'})).toBe('/cfg/mqttctl/profile.json')
    expect(defaultProfilePath({})).toMatch(/\.config\/mqttctl\/profile\.json$/)
  })

  it('plan puts the measured figures next to the guide\'s', () => {
    const p = plan({devices: 50_000, subsPerDevice: 2, msgRate: 10_000}, {profile: PROFILE, path: '/p.json'})
    const m = p.memory!
    expect(p.measured).toMatchObject({path: '/p.json', connectionsBytes: 50_000 * 6_000, subscriptionsBytes: 50_000 * 2 * 400, broadcastMicros: 4_000, cpuPercentOfCore: 5})
    expect(p.measured!.totalBytes).toBe(m.totalBytes - m.connectionsBytes - m.subscriptionsBytes + 50_000 * 6_000 + 50_000 * 2 * 400)
    expect(plan({devices: 50_000}).measured).toBeNull()
  })
})
