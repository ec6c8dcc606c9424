/**
 * cluster/orphans.ts without NATS: takeOverOrphan() over a fake directory and a fake JetStream
 * manager holding a down node's copies (real subjects and headers from subjects.ts and wire.ts), and
 * fenceRestored() deciding, per restored session, to keep, record, forward and let go.
 */
import {headers} from 'nats'
import type {JetStreamManager} from 'nats'
import {describe, expect, it} from 'vitest'
import type {MovedSession} from '../../../src/broker/cluster/sessions.js'
import type {FoundEntry, SessionDirectory, SessionEntry} from '../../../src/broker/cluster/directory.js'
import {FOR_HEADER} from '../../../src/broker/cluster/durable.js'
import {fenceRestored, takeOverOrphan, type OrphanDeps} from '../../../src/broker/cluster/orphans.js'
import {SubjectMap} from '../../../src/broker/cluster/subjects.js'
import {encodeHeaders} from '../../../src/broker/cluster/wire.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Delivery, Message} from '../../../src/broker/message.js'
import type {SessionRecord} from '../../../src/broker/persistence/store.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'

const NOW = 1_000_000
const sub = (qos: 0 | 1 | 2, extra: Partial<SubOptions> = {}): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra})

interface Stored {seq: number; subject: string; data: Uint8Array; header?: ReturnType<typeof headers>}

/** A down node A's copies in the work-queue stream, read by subject as JetStream answers. */
function fakeJsm(copies: Stored[]): {jsm: JetStreamManager; reads: number[]} {
  const reads: number[] = []
  const prefixOf = (filter: string) => filter.slice(0, -1) // "<prefix>.d.A.>" -> "<prefix>.d.A."
  const jsm = {
    streams: {
      info: async () => ({state: {last_seq: copies.at(-1)?.seq ?? 0}}),
      getMessage: async (_stream: string, q: {seq: number; next_by_subj: string}) => {
        reads.push(q.seq)
        const m = copies.find((c) => c.seq >= q.seq && c.subject.startsWith(prefixOf(q.next_by_subj)))
        if (m === undefined) throw new Error('no message found')
        return m
      },
    },
  }
  return {jsm: jsm as unknown as JetStreamManager, reads}
}

const mapA = new SubjectMap({prefix: 'mqtt'}, 'd.A')
function copy(seq: number, topic: string, qos: 0 | 1 | 2, payload = topic, forClient?: string): Stored {
  const msg: Message = {topic, payload: Buffer.from(payload), qos, retain: false, expiresAt: 0}
  let header = encodeHeaders(msg, NOW, {absoluteExpiry: true})
  if (forClient !== undefined) {
    header ??= headers()
    header.set(FOR_HEADER, Buffer.from(forClient).toString('base64url'))
  }
  return {seq, subject: mapA.topic(topic)!, data: Buffer.from(payload), header}
}

function fakeDirectory(found: FoundEntry | 'ended' | undefined, takeOver = true) {
  const calls: string[] = []
  const directory = {
    lookup: async (id: string) => (calls.push(`lookup ${id}`), found),
    takeOver: async (_f: FoundEntry, upTo: number) => (calls.push(`takeOver upTo ${upTo}`), takeOver),
  }
  return {directory: directory as unknown as SessionDirectory, calls}
}

function deps(directory: SessionDirectory, jsm: JetStreamManager, adopted: MovedSession[]): OrphanDeps {
  return {logger: memoryLogger('debug'), prefix: 'mqtt', token: 'B', directory, jsm, copies: 'MQTT_DURABLE_mqtt', now: () => NOW, adopt: (m) => adopted.push(m)}
}

const entry = (over: Partial<SessionEntry> = {}): FoundEntry => ({seq: 7, entry: {clientId: 'dev-1', node: 'A', expiryInterval: 3600, subscriptions: [['s/#', sub(2)], ['q/+', sub(1)]], ...over}})

describe('takeOverOrphan', () => {
  it('rebuilds the session from the record and the down node\'s matching QoS 1/2 copies, in stream order, at the lower QoS', async () => {
    const {jsm} = fakeJsm([copy(1, 's/a', 1), copy(2, 'other/x', 1), copy(3, 'q/b', 2), copy(4, 's/c', 0), copy(5, 's/d', 2)])
    const {directory, calls} = fakeDirectory(entry())
    const adopted: MovedSession[] = []
    expect(await takeOverOrphan(deps(directory, jsm, adopted), 'dev-1')).toBe(true)
    expect(calls).toEqual(['lookup dev-1', 'takeOver upTo 5'])
    expect(adopted).toHaveLength(1)
    const moved = adopted[0]
    expect(moved).toMatchObject({clientId: 'dev-1', expiryInterval: 3600, subscriptions: [['s/#', sub(2)], ['q/+', sub(1)]], incoming: [], lastPacketId: 0})
    // other/x matches no subscription, s/c is QoS 0; q/b was published at 2 to a QoS 1 subscription.
    expect(moved.deliveries.map((d) => [d.msg.topic, d.qos, d.msg.payload.toString()])).toEqual([['s/a', 1, 's/a'], ['q/b', 1, 'q/b'], ['s/d', 2, 's/d']])
    expect(moved.deliveries.every((d) => d.msg.owned && !d.sent && d.packetId === 0)).toBe(true)
  })

  it('skips copies forwarded for another session (Mqtt-For), keeps those forwarded for this one', async () => {
    const {jsm} = fakeJsm([copy(1, 's/a', 1, 'for-other', 'dev-2'), copy(2, 's/b', 1, 'for-me', 'dev-1'), copy(3, 's/c', 1)])
    const adopted: MovedSession[] = []
    await takeOverOrphan(deps(fakeDirectory(entry()).directory, jsm, adopted), 'dev-1')
    expect(adopted[0].deliveries.map((d) => d.msg.payload.toString())).toEqual(['for-me', 's/c'])
  })

  it('nothing to take over: no record, an ended session, or one this node holds itself; nothing read', async () => {
    for (const found of [undefined, 'ended' as const, entry({node: 'B'})]) {
      const {jsm, reads} = fakeJsm([copy(1, 's/a', 1)])
      const adopted: MovedSession[] = []
      expect(await takeOverOrphan(deps(fakeDirectory(found).directory, jsm, adopted), 'dev-1')).toBe(false)
      expect(adopted).toEqual([])
      expect(reads).toEqual([])
    }
  })

  it('fencing: when the record changed meanwhile (another node won), nothing is adopted', async () => {
    const {jsm} = fakeJsm([copy(1, 's/a', 1)])
    const adopted: MovedSession[] = []
    expect(await takeOverOrphan(deps(fakeDirectory(entry(), false).directory, jsm, adopted), 'dev-1')).toBe(false)
    expect(adopted).toEqual([])
  })

  it('shared subscriptions in the record take no copies (their messages went to the group)', async () => {
    const {jsm} = fakeJsm([copy(1, 's/a', 1)])
    const adopted: MovedSession[] = []
    await takeOverOrphan(deps(fakeDirectory(entry({subscriptions: [['$share/g/s/#', sub(1)]]})).directory, jsm, adopted), 'dev-1')
    expect(adopted[0].deliveries).toEqual([])
  })
})

function record(clientId: string, expiryInterval: number, deliveries: Delivery[] = []): SessionRecord {
  return {clientId, expiryInterval, subscriptions: new Map([['s/#', sub(1)]]), queue: deliveries} as unknown as SessionRecord
}
const delivery = (topic: string, qos: 0 | 1 | 2): Delivery => ({msg: {topic, payload: Buffer.from('x'), qos, retain: false, expiresAt: 0}, qos, retain: false, packetId: 0, sent: false, released: false})

describe('fenceRestored', () => {
  function run(found: Record<string, FoundEntry | 'ended' | undefined>, sessions: SessionRecord[], forward = async (_c: string, d: Delivery[]) => d.length) {
    const log = memoryLogger('debug')
    const calls: string[] = []
    let inFlight = 0
    let most = 0
    const directory = {
      lookup: async (id: string) => {
        most = Math.max(most, ++inFlight)
        await Promise.resolve()
        inFlight--
        return found[id]
      },
      confirm: (f: FoundEntry, s: SessionRecord) => calls.push(`confirm ${s.clientId} ${f.seq}`),
      write: (id: string, e: {expiryInterval: number}) => calls.push(`write ${id} ${e.expiryInterval}`),
    } as unknown as SessionDirectory
    const released: string[] = []
    const forwarded: string[] = []
    const done = fenceRestored({directory, token: 'A', logger: log}, sessions, (s) => released.push(s.clientId), async (c, d, token) => {
      forwarded.push(`${c}->${token}: ${d.map((x) => x.msg.topic).join(',')}`)
      return forward(c, d)
    })
    return {done, calls, released, forwarded, log, most: () => most}
  }

  it('keeps its own, records the unrecorded, lets go of the ended and forwards then lets go of the taken over', async () => {
    const r = run(
      {mine: entry({clientId: 'mine', node: 'A'}), moved: entry({clientId: 'moved', node: 'B'}), gone: 'ended', fresh: undefined},
      [record('mine', 60), record('moved', 60, [delivery('s/1', 1), delivery('s/2', 0), delivery('s/3', 2)]), record('gone', 60), record('fresh', 90), record('clean', 0)],
    )
    expect(await r.done).toBe(2)
    expect(r.calls).toEqual(['confirm mine 7', 'write fresh 90'])
    expect(r.released.sort()).toEqual(['gone', 'moved'])
    // QoS 0 is not forwarded; a clean session (expiry 0) is not even looked up.
    expect(r.forwarded).toEqual(['moved->B: s/1,s/3'])
    expect(r.log.lines.join('\n')).toContain('"moved" was taken over by node B while this node was down: let go here, its 2 stored message(s) forwarded there')
    expect(r.log.lines.join('\n')).toContain('"gone" ended on another node while this node was down: let go here')
  })

  it('a forward that fails is logged and the session is still let go (never delivered twice)', async () => {
    const r = run({moved: entry({clientId: 'moved', node: 'B'})}, [record('moved', 60, [delivery('s/1', 1)])], async () => {
      throw new Error('no responders')
    })
    expect(await r.done).toBe(1)
    expect(r.released).toEqual(['moved'])
    expect(r.log.lines.join('\n')).toContain('could not forward 1 stored message(s) of session "moved" to node B: no responders; they are dropped')
  })

  it('looks sessions up at most 64 at a time', async () => {
    const sessions = Array.from({length: 200}, (_, i) => record(`c${i}`, 60))
    const r = run({}, sessions)
    await r.done
    expect(r.most()).toBe(64)
    expect(r.calls.filter((c) => c.startsWith('write'))).toHaveLength(200)
  })
})
