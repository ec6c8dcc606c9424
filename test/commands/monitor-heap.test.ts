import {runCommand} from '@oclif/test'
import {getHeapStatistics} from 'node:v8'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {LoadAverages} from '../../src/broker/stats/loads.js'
import {type Reporter, startReporter} from '../../src/broker/stats/reporter.js'
import {sysMessages} from '../../src/broker/stats/sys-topics.js'
import {History} from '../../src/monitor/history.js'
import {heapLimitOf, warningsFor} from '../../src/monitor/warnings.js'
import {filledSnapshot} from '../broker/stats/fixtures.js'
import {type StartedBroker, startBroker} from '../helpers/broker.js'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const
const MB = 2 ** 20

describe('monitor warns from the heap limit the broker publishes', () => {
  it('prefers the broker figure; --heap-limit only when the broker publishes none (0 or absent)', () => {
    const history = (figures: object) => {
      const h = new History()
      h.push({time: 0, figures, loads: {}})
      return h.points
    }
    expect(heapLimitOf({heapLimitBytes: 512 * MB}, {heapLimitBytes: 64 * MB})).toBe(512 * MB)
    expect(heapLimitOf({heapLimitBytes: 0}, {heapLimitBytes: 64 * MB})).toBe(64 * MB)
    expect(heapLimitOf({}, {})).toBeUndefined()
    // 100 MB used: 19.5 % of the broker's 512 MB (no warning) although 156 % of a stale --heap-limit 64.
    expect(warningsFor(history({heapUsedBytes: 100 * MB, heapLimitBytes: 512 * MB}), {heapLimitBytes: 64 * MB})).toEqual([])
    expect(warningsFor(history({heapUsedBytes: 460 * MB, heapLimitBytes: 512 * MB})).map((w) => w.figure)).toEqual(['heap'])
    expect(warningsFor(history({heapUsedBytes: 60 * MB}), {heapLimitBytes: 64 * MB}).map((w) => w.figure)).toEqual(['heap'])
  })

  describe('against a live broker', () => {
    let started: StartedBroker
    let reporter: Reporter

    beforeAll(async () => {
      started = await startBroker({maxConnections: 10})
      reporter = startReporter(started.broker)
    })

    afterAll(async () => {
      await reporter.stop()
      await started.close()
    })

    it("$SYS carries this process's V8 heap limit, and --json shows it", async () => {
      reporter.tick()
      const {stdout, error} = await runCommand(['monitor', '--url', started.url, '--once', '--json'], {root}, opts)
      expect(error).toBeUndefined()
      const json = JSON.parse(stdout.trim())
      expect(json.heapLimitBytes).toBe(getHeapStatistics().heap_size_limit)
      expect(json.heapUsedBytes).toBeGreaterThan(0)
      expect(json.heapUsedBytes).toBeLessThan(json.heapLimitBytes)
    })

    it('warns without --heap-limit when the published heap is above 85 % of the published limit', async () => {
      // The figures a broker near its limit publishes (the reporter's own publish path, without its timer).
      const snap = {...filledSnapshot(), connectionsLive: 1, connectionsMax: 10, heapUsedBytes: 900 * MB, heapLimitBytes: 1000 * MB}
      for (const [topic, payload] of sysMessages(snap, new LoadAverages().values)) started.broker.publish(topic, payload, {qos: 0, retain: true})
      const {stdout, error} = await runCommand(['monitor', '--url', started.url, '--once', '--no-color'], {root}, opts)
      expect(error).toBeUndefined()
      expect(stdout).toMatch(/heap 944 MB of 1 GB/)
      expect(stdout).toMatch(/! V8 heap 944 MB is 90\.0 % of its 1 GB limit/)
    })
  })
})
