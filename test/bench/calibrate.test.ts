import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {calibrate} from '../../src/bench/calibrate.js'
import {loadProfile} from '../../src/sizing/profile.js'

describe('bench calibrate', () => {
  it('measures our broker and stores a profile plan can load', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mqttctl-cal-')), 'profile.json')
    const p = await calibrate({connections: 200, profilePath: path})
    expect(loadProfile(path)).toEqual(p)
    expect(p.bytesPerConnection).toBeGreaterThanOrEqual(0)
    expect(p.cpuMicrosPerMessage).toBeGreaterThan(0)
    expect(p.broadcastMsPerThousand).toBeGreaterThan(0)
    expect(p.brokerVersion).toMatch(/^mqttctl /)
  }, 90_000)
})
