/**
 * Wills of sessions that were connected when the broker went down (a crash ends every connection
 * without DISCONNECT): the durable store keeps a connection's will with its session and, at the next
 * start, turns it into the session's pending will, due by its delay from the moment the broker was
 * last alive (store/alive); a clean session keeps only its header with the will. A "crash" here: a
 * second store opens the directory while the first one, its journal written, was never closed.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {readAlive} from '../../../src/broker/persistence/alive.js'
import type {WillRecord} from '../../../src/broker/persistence/store.js'
import {ManualClock} from '../../helpers/clock.js'
import {cleanupStores, openStore, tempDir} from './helpers.js'

cleanupStores()

const will = (topic: string, delay = 0): WillRecord => ({topic, payload: Buffer.from(`${topic} gone`), qos: 1, retain: false, delay})

/** Runs `clock` forward a second at a time until store/alive says `at`. */
async function aliveUntil(dir: string, clock: ManualClock, at: number): Promise<void> {
  const path = join(dir, 'store', 'alive')
  while (clock.now() < at) {
    clock.advance(1000)
    for (let i = 0; i < 1000 && readAlive(path) !== clock.now(); i++) await new Promise((r) => setImmediate(r))
    expect(readAlive(path)).toBe(clock.now())
  }
}

describe('DurableStore: wills of sessions connected at a crash', () => {
  it('a connected session keeps its will; after a crash it is pending, due by its delay from the last alive moment', async () => {
    const dir = tempDir()
    const clock = new ManualClock(1_800_000_000_000)
    const t0 = clock.now()
    const first = await openStore({dir, clock})
    // A clean session: only its header with the will is kept, and nothing waits for it.
    const seq = first.writeSeq
    first.createSession('clean', 0, will('w/clean'))
    first.createSession('clean-no-will', 0)
    expect(first.writeSeq).toBe(seq)
    // 3.1.1-like (no delay), 5.0 with a delay, one without a will, one that disconnected normally
    // (counted changes after the clean ones: flushed() below covers those too, the journal is in order).
    first.createSession('v4', 3600, will('w/v4'))
    first.createSession('v5', 3600, will('w/v5', 30))
    first.createSession('none', 3600)
    const left = first.createSession('left', 3600, will('w/left'))
    left.disconnectedAt = clock.now()
    first.touchSession(left) // a DISCONNECT: its will is gone with the connection
    // A resumed session whose new connection has a will (set before touchSession, as the broker does).
    const resumed = first.createSession('resumed', 3600)
    resumed.connectionWill = will('w/resumed', 5)
    first.touchSession(resumed)
    await first.flushed()
    expect(left.connectionWill).toBeUndefined()
    await aliveUntil(dir, clock, t0 + 3000)

    // kill -9 at t0 + 3 s: the first store is never closed, and its clock (with its timers) stops
    // there, as a killed process does. The broker comes back 60 s later.
    const later = new ManualClock(t0 + 63_000)
    const log = memoryLogger('info')
    const second = await openStore({dir, clock: later, logger: log})
    const downAt = t0 + 3000
    const v4 = second.getSession('v4')!
    expect(v4.disconnectedAt).toBe(downAt)
    expect(v4.pendingWill?.topic).toBe('w/v4')
    expect(v4.pendingWill?.payload.toString()).toBe('w/v4 gone')
    expect(v4.willAt).toBe(downAt)
    expect(v4.connectionWill).toBeUndefined()
    const v5 = second.getSession('v5')!
    expect([v5.pendingWill?.topic, v5.willAt]).toEqual(['w/v5', downAt + 30_000])
    expect([second.getSession('resumed')!.pendingWill?.topic, second.getSession('resumed')!.willAt]).toEqual(['w/resumed', downAt + 5000])
    expect(second.getSession('none')!.pendingWill).toBeUndefined()
    expect(second.getSession('none')!.disconnectedAt).toBe(downAt)
    expect(second.getSession('left')!.pendingWill).toBeUndefined()
    expect(second.getSession('left')!.disconnectedAt).toBe(t0)
    expect([second.getSession('clean')?.pendingWill?.topic, second.getSession('clean')?.willAt]).toEqual(['w/clean', downAt])
    expect(second.getSession('clean-no-will')).toBeUndefined()
    expect(log.lines.join('\n')).toMatch(/5 sessions were connected when the broker went down .*4 of their wills due/)
    await second.flushed()

    // A second crash before the 30 s will is due: the down time stays the first one (journaled at start).
    const third = await openStore({dir, clock: new ManualClock(t0 + 73_000)})
    expect([third.getSession('v5')!.disconnectedAt, third.getSession('v5')!.willAt]).toEqual([downAt, downAt + 30_000])
  })

  it('without an alive mark (a store from before it), the down time is the start', async () => {
    const dir = tempDir()
    const clock = new ManualClock(1_800_000_000_000)
    const first = await openStore({dir, clock})
    first.createSession('a', 3600, will('w/a', 10))
    await first.close() // still connected on disk (the broker detaches its connections first; this test does not)
    writeFileSync(join(dir, 'store', 'alive'), 'garbage, not a mark')
    clock.advance(5000)
    const second = await openStore({dir, clock})
    expect(second.getSession('a')!.willAt).toBe(clock.now() + 10_000)
    expect(readFileSync(join(dir, 'store', 'alive')).length).toBe(19) // rewritten in place: 12 bytes of mark, the rest old
    expect(readAlive(join(dir, 'store', 'alive'))).toBe(clock.now())
  })
})
