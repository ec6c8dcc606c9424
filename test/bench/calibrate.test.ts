import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {calibrate, calibrationSpec} from '../../src/bench/calibrate.js'
import {readRuntimeProfile} from '../../src/sizing/runtime-profile.js'
import {ensureDist, ROOT} from '../helpers/cli.js'

// The compiled broker, as the shipped `mqttctl bench calibrate` runs it (not the sources through tsx).
beforeAll(ensureDist, 300_000)
const entry = () => ({cmd: process.execPath, args: [join(ROOT, 'dist/src/broker/main.js')]})

describe('bench calibrate (the measurement plan --verify runs, at a fixed workload)', () => {
  it('measures our broker and stores a host runtime profile plan can load', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mqttctl-cal-')), 'runtime-profile.json')
    const lines: string[] = []
    // Each CPU step measures 1 s here (2 s with its warm-up; 5 s shipped): the figures are checked for being there, not for their size.
    const p = await calibrate({connections: 200, profilePath: path, settleMs: 500, cpuSeconds: 2, entry: entry(), log: (l) => lines.push(l)})
    expect(readRuntimeProfile(path)).toEqual(p)
    expect(p).toMatchObject({kind: 'host', command: 'mqttctl bench calibrate --connections 200', node: process.version})
    expect(p.workload).toMatchObject({connections: 200, subsPerConnection: 1, payloadBytes: 256, tlsConnections: 200})
    expect(p.figures.baselineRssBytes).toBeGreaterThan(10_000_000)
    expect(p.figures.cpuMicrosPerMessageIn + p.figures.cpuMicrosPerDeliveryOut).toBeGreaterThan(0)
    expect(p.figures.broadcastMicrosPerSubscriber).toBeGreaterThan(0)
    // WebSocket: a figure when the runtime has the listener, else null and the reason.
    expect(lines.some((l) => l.startsWith('memory: 200 WebSocket connections'))).toBe(true)
    if (p.figures.bytesPerWebSocketConnectionExtra === null) expect(p.notMeasured.bytesPerWebSocketConnectionExtra).toMatch(/WebSocket/)
    else expect(p.figures.bytesPerWebSocketConnectionExtra).toBeGreaterThanOrEqual(0)
    expect(lines[0]).toBe('memory: 200 connections, no subscription…')
    expect(lines.some((l) => l.startsWith('memory: 200 TLS connections'))).toBe(true)
  }, 180_000)

  it('the spec: each CPU step runs 5 s (the measure default) unless told otherwise', () => {
    expect(calibrationSpec(200).cpuSeconds).toBeUndefined()
    expect(calibrationSpec(200, 500, 2)).toMatchObject({connections: 200, settleMs: 500, cpuSeconds: 2})
  })
})
