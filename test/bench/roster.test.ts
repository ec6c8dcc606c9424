import {describe, expect, it} from 'vitest'
import type {ClientSink} from '../../src/bench/client.js'
import {slices} from '../../src/bench/index.js'
import {normalize, type BenchMode, type BenchOptions} from '../../src/bench/options.js'
import {buildRoster, connectAll} from '../../src/bench/roster.js'
import {freePort} from '../../src/net.js'

const sink: ClientSink = {delivered: () => {}, ready: () => {}, failed: () => {}}
const opts = (mode: BenchMode, given: Partial<BenchOptions> = {}) => normalize(mode, {duration: 1, clientId: 't-%i', ...given})
const roster = (o: BenchOptions, part = 0) => buildRoster(o, slices(o)[part], sink)

describe('buildRoster: the clients of one share of a run', () => {
  it('conn: idle clients only, each subscribing after CONNACK with --subscribe', () => {
    const plain = roster(opts('conn', {clients: 3}))
    expect(plain.idle.map((c) => c.clientId)).toEqual(['t-0', 't-1', 't-2'])
    expect([plain.pubs.length, plain.subs.length]).toEqual([0, 0])
    expect(plain.work.every((w) => w.then === undefined)).toBe(true)
    expect(roster(opts('conn', {clients: 2, subscribe: true})).work.every((w) => typeof w.then === 'function')).toBe(true)
  })

  it('pubsub: subscribers first, then publishers, ids by role', () => {
    const r = roster(opts('pubsub', {clients: 2}))
    expect(r.subs.map((c) => c.clientId)).toEqual(['t-0-s', 't-1-s'])
    expect(r.pubs.map((c) => c.clientId)).toEqual(['t-0-p', 't-1-p'])
    expect(r.work.map((w) => w.c.clientId)).toEqual(['t-0-s', 't-1-s', 't-0-p', 't-1-p'])
    expect(r.subs.every((c) => c.clean)).toBe(true)
  })

  it('sub: subscribers only, with the plain client id', () => {
    const r = roster(opts('sub', {clients: 2}))
    expect(r.subs.map((c) => c.clientId)).toEqual(['t-0', 't-1'])
    expect(r.pubs).toEqual([])
  })

  it('fanout: the first share has the one publisher and the probe pair; other shares only subscribers', () => {
    const o = opts('fanout', {clients: 4, workers: 2, probe: true})
    const first = roster(o, 0)
    expect(first.pubs.map((c) => c.clientId)).toEqual(['t-0-p'])
    expect(first.subs.map((c) => c.clientId)).toEqual(['t-0-s', 't-1-s'])
    expect(first.probePub?.clientId).toBe('t-0-probe-p')
    expect(first.probeSub?.clientId).toBe('t-0-probe-s')
    const second = roster(o, 1)
    expect(second.pubs).toEqual([])
    expect(second.probePub).toBeUndefined()
    expect(second.subs.map((c) => c.clientId)).toEqual(['t-2-s', 't-3-s'])
  })

  it('a client id without %i gets the index appended', () => {
    expect(roster(opts('conn', {clients: 2, clientId: 'dev-'})).idle.map((c) => c.clientId)).toEqual(['dev-0', 'dev-1'])
  })
})

describe('connectAll', () => {
  it('counts every failed connection through onFail and never throws (nothing listening)', async () => {
    const o = opts('conn', {clients: 5, port: await freePort(), connectConcurrency: 2, connectTimeout: 2})
    const r = roster(o)
    let ok = 0
    const failures: Error[] = []
    await connectAll(o, r.work, () => ok++, (e) => failures.push(e))
    expect(ok).toBe(0)
    expect(failures).toHaveLength(5)
    expect(failures.every((e) => e instanceof Error)).toBe(true)
  })
})
