/**
 * cluster/interest.ts against a real nats-server (announcements are NATS messages), time on a
 * ManualClock: which other node wants a topic, the grace after joining, shared filters as their plain
 * filter, whole lists in pieces on sync, peers expiring, hostile announcements ignored, a peer past the
 * limits in doubt (everything exported, nothing lost) until its next whole list fits.
 */
import type {NatsConnection} from 'nats'
import {describe, expect, it} from 'vitest'
import {type InterestLimits, MAX_PEERS, RemoteInterest, SYNC_GRACE_MS} from '../../../src/broker/cluster/interest.js'
import {type Logger, memoryLogger} from '../../../src/broker/log.js'
import {ManualClock} from '../../helpers/clock.js'
import {useNats} from './unit-nats.js'

let n = 0
const nats = useNats({jetstream: false})

/** Nodes on one fresh prefix sharing one ManualClock; settle() = every published message delivered. */
async function cluster() {
  const prefix = `int${n++}`
  const clock = new ManualClock(0)
  const mine: NatsConnection[] = []
  const settle = async () => {
    for (const c of mine) await c.flush()
    for (const c of mine) await c.flush()
  }
  const node = async (id: string, own: string[] = [], limits?: InterestLimits, logger?: Logger) => {
    const nc = await nats.connect()
    mine.push(nc)
    const r = new RemoteInterest(nc, prefix, id, () => clock.now(), SYNC_GRACE_MS, limits, logger)
    r.start(() => own)
    await settle()
    return {r, own, nc}
  }
  const raw = async (body: unknown) => {
    const nc = await nats.connect()
    mine.push(nc)
    nc.publish(`${prefix}.n.int`, typeof body === 'string' ? body : JSON.stringify(body))
    await settle()
  }
  /** Every announcement on the prefix, as parsed JSON, from now on. */
  const listen = async () => {
    const nc = await nats.connect()
    mine.push(nc)
    const seen: Array<{id: string; op: string; part?: number; filters: string[]}> = []
    nc.subscribe(`${prefix}.n.int`, {callback: (_e, m) => seen.push(JSON.parse(Buffer.from(m.data).toString()))})
    await nc.flush()
    return seen
  }
  /** Many announcements on one connection. */
  const rawMany = async (bodies: unknown[]) => {
    const nc = await nats.connect()
    mine.push(nc)
    for (const body of bodies) nc.publish(`${prefix}.n.int`, JSON.stringify(body))
    await settle()
  }
  return {clock, node, settle, raw, rawMany, listen}
}

describe('RemoteInterest', () => {
  it('exports everything during the grace after joining, then only what another node announced', async () => {
    const {clock, node, settle} = await cluster()
    const a = await node('A')
    const b = await node('B')
    expect(b.r.wanted('anything')).toBe(true)
    clock.advance(SYNC_GRACE_MS)
    expect(b.r.wanted('anything')).toBe(false)
    a.r.added('dev/+/state')
    await settle()
    expect(b.r.wanted('dev/1/state')).toBe(true)
    expect(b.r.wanted('dev/1/other')).toBe(false)
    expect(a.r.wanted('dev/1/state')).toBe(false) // a node's own filters are not "another node"
    a.r.removed('dev/+/state')
    await settle()
    expect(b.r.wanted('dev/1/state')).toBe(false)
  })

  it('a shared filter makes its plain filter wanted; two filters on one plain filter are counted', async () => {
    const {clock, node, settle} = await cluster()
    const a = await node('A')
    const b = await node('B')
    clock.advance(SYNC_GRACE_MS)
    a.r.added('$share/g/jobs/#')
    a.r.added('jobs/#')
    await settle()
    expect(b.r.wanted('jobs/1')).toBe(true)
    a.r.removed('jobs/#')
    await settle()
    expect(b.r.wanted('jobs/1')).toBe(true)
    a.r.removed('$share/g/jobs/#')
    await settle()
    expect(b.r.wanted('jobs/1')).toBe(false)
  })

  it('a node joining later gets the whole lists (in pieces past 500 filters); a rejoin replaces the old list', async () => {
    const {clock, node, settle, listen} = await cluster()
    const many = Array.from({length: 1234}, (_, i) => `f/${i}`)
    const a = await node('A', many)
    const seen = await listen()
    const c = await node('C') // its sync request makes A send its list
    const fromA = seen.filter((m) => m.id === 'A')
    expect(fromA.map((m) => [m.op, m.part, m.filters.length])).toEqual([['=', 0, 500], ['=', 1, 500], ['=', 2, 234]])
    clock.advance(SYNC_GRACE_MS)
    expect(c.r.wanted('f/0')).toBe(true)
    expect(c.r.wanted('f/1233')).toBe(true)
    expect(c.r.wanted('f/1234')).toBe(false)
    a.own.splice(0, a.own.length, 'g/only')
    a.r.joined(() => a.own)
    await settle()
    clock.advance(SYNC_GRACE_MS)
    expect(c.r.wanted('f/0')).toBe(false)
    expect(c.r.wanted('g/only')).toBe(true)
    expect(c.r.peerCount).toBe(1)
  })

  it('forgets a peer silent for longer than the timeout; heard() keeps it', async () => {
    const {clock, node, settle} = await cluster()
    const a = await node('A')
    const b = await node('B')
    a.r.added('x')
    await settle()
    clock.advance(SYNC_GRACE_MS)
    clock.advance(9000)
    b.r.heard('A')
    b.r.heard('nobody') // unknown ids are not created by heard()
    clock.advance(10_000)
    b.r.expire(10_000)
    expect([b.r.peerCount, b.r.wanted('x')]).toEqual([1, true])
    clock.advance(1)
    b.r.expire(10_000)
    expect([b.r.peerCount, b.r.wanted('x')]).toEqual([0, false])
  })

  it('ignores hostile announcements: not JSON, its own id, a long id, filters not a list, empty, non-string or over-long filters', async () => {
    const {clock, node, raw} = await cluster()
    const b = await node('B')
    clock.advance(SYNC_GRACE_MS)
    for (const body of [
      '{not json',
      'null',
      {id: 'B', op: '+', filters: ['own']},
      {id: 'x'.repeat(65), op: '+', filters: ['long-id']},
      {id: 'E', op: '+', filters: 'not-a-list'},
      {id: 'E', op: '+', filters: ['ok', '']},
      {id: 'E', op: '+', filters: ['ok', 7]},
      {id: 'E', op: '+', filters: ['ok', 'y'.repeat(65_536)]},
    ]) await raw(body)
    expect(b.r.peerCount).toBe(0)
    for (const t of ['own', 'long-id', 'ok']) expect(b.r.wanted(t), t).toBe(false)
    await raw({id: 'E', op: '+', filters: ['ok', 'y'.repeat(65_535)]})
    expect(b.r.wanted('ok')).toBe(true)
  })

  it('a peer past the filter limit is in doubt (every message exported) until a whole list of it fits; logged once', async () => {
    const {clock, node, settle, raw} = await cluster()
    const log = memoryLogger('debug')
    const b = await node('B', [], {maxFiltersPerPeer: 3, maxBytes: 1_000_000}, log)
    clock.advance(SYNC_GRACE_MS)
    await raw({id: 'A', op: '+', filters: ['a/1', 'a/2', 'a/3']})
    expect([b.r.wanted('a/1'), b.r.wanted('zzz')]).toEqual([true, false])
    expect(b.r.held).toEqual({bytes: 3 * (3 + 160), overflowed: 0})
    await raw({id: 'A', op: '+', filters: ['a/4']})
    // Its filters are dropped and it is in doubt: a topic nobody announced goes out too, none is lost.
    expect([b.r.wanted('zzz'), b.r.wanted('a/4')]).toEqual([true, true])
    expect(b.r.held).toEqual({bytes: 0, overflowed: 1})
    await raw({id: 'A', op: '+', filters: ['a/5']})
    expect(log.lines.filter((l) => l.includes('node A announced more filters than this node keeps (3 per node, 1,000,000 bytes for all nodes)'))).toHaveLength(1)
    // Its next whole list fits: trusted again.
    await raw({id: 'A', op: '=', part: 0, filters: ['a/1', 'a/2']})
    await settle()
    expect([b.r.wanted('zzz'), b.r.wanted('a/2'), b.r.wanted('a/3')]).toEqual([false, true, false])
    expect(b.r.held).toEqual({bytes: 2 * (3 + 160), overflowed: 0})
  })

  it('the byte limit counts every peer together; only the peer that goes past it is in doubt', async () => {
    const {clock, node, raw} = await cluster()
    const b = await node('B', [], {maxFiltersPerPeer: 1000, maxBytes: 1000})
    clock.advance(SYNC_GRACE_MS)
    await raw({id: 'A', op: '+', filters: ['x'.repeat(300), 'a/1']})
    expect(b.r.held).toEqual({bytes: 300 + 160 + 3 + 160, overflowed: 0})
    await raw({id: 'C', op: '+', filters: ['c/1', 'y'.repeat(200)]})
    expect(b.r.held).toEqual({bytes: 300 + 160 + 3 + 160, overflowed: 1})
    expect(b.r.wanted('zzz')).toBe(true)
    // A leaves (its filters go): C's next whole list fits.
    await raw({id: 'A', op: '-', filters: ['x'.repeat(300), 'a/1']})
    await raw({id: 'C', op: '=', part: 0, filters: ['c/1', 'y'.repeat(200)]})
    expect(b.r.held).toEqual({bytes: 3 + 160 + 200 + 160, overflowed: 0})
    expect([b.r.wanted('zzz'), b.r.wanted('c/1'), b.r.wanted('a/1')]).toEqual([false, true, false])
  })

  it('a node past the nodes kept puts this one in doubt while it is heard from; forgotten, trusted again', async () => {
    const {clock, node, rawMany} = await cluster()
    const log = memoryLogger('debug')
    const b = await node('B', [], undefined, log)
    clock.advance(SYNC_GRACE_MS)
    await rawMany(Array.from({length: MAX_PEERS}, (_, i) => ({id: `n${i}`, op: '+', filters: [`t/${i}`]})))
    expect([b.r.peerCount, b.r.wanted('zzz'), b.r.wanted('t/7')]).toEqual([MAX_PEERS, false, true])
    await rawMany([{id: 'one-more', op: '+', filters: ['m/1']}, {id: 'one-more', op: '+', filters: ['m/2']}])
    expect([b.r.peerCount, b.r.held.overflowed, b.r.wanted('zzz')]).toEqual([MAX_PEERS, 1, true])
    expect(log.lines.filter((l) => l.includes('node one-more is one more than the 4,096 nodes this node keeps'))).toHaveLength(1)
    clock.advance(60_000)
    b.r.expire(30_000)
    expect([b.r.peerCount, b.r.held.overflowed, b.r.wanted('zzz')]).toEqual([0, 0, false])
  })
})
