/**
 * SessionDirectory (src/broker/cluster/directory.ts) against a real nats-server with JetStream: what
 * changes while JetStream is not up (the node starting, a failed start) is kept and written once the
 * restored sessions were checked (flush()), never lost; a session ended meanwhile ends only a record
 * naming this node; a record naming this node that differs from the session is rewritten (confirm).
 */
import {describe, expect, it} from 'vitest'
import {SessionDirectory} from '../../../src/broker/cluster/directory.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {SessionRecord} from '../../../src/broker/persistence/store.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'
import {waitFor} from '../../helpers/mqtt.js'
import {jetStreamEnv} from './fixtures/jetstream-env.js'

const env = jetStreamEnv()
const opts = (qos: 0 | 1 | 2): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0})
const session = (clientId: string, filters: string[], expiryInterval = 600) =>
  ({clientId, expiryInterval, subscriptions: new Map(filters.map((f) => [f, opts(1)]))}) as unknown as SessionRecord

let n = 0
function directory(token = 'node-a') {
  const prefix = `dw${process.pid}x${n++}`
  return {prefix, dir: new SessionDirectory(prefix, token, 1, memoryLogger('debug'))}
}

/** The record as JetStream holds it: undefined (none), 'ended', or its node and filters. */
async function read(dir: SessionDirectory, clientId: string) {
  const found = await dir.lookup(clientId)
  return found === undefined || found === 'ended' ? found : {node: found.entry.node, filters: found.entry.subscriptions.map(([f]) => f)}
}

describe('session directory writes', () => {
  it('keeps what changed before JetStream was up and writes it after the check, not before', async () => {
    const {dir} = directory()
    const s = session('early', ['a/#'])
    dir.changed(s, false)
    await dir.start(env.nc)
    await new Promise((r) => setImmediate(r))
    // Started but not checked: nothing written yet (a session let go by the check must not be written over its new holder).
    expect(await read(dir, 'early')).toBeUndefined()
    await dir.flush()
    await waitFor(async () => (await read(dir, 'early')) !== undefined, 5000, 'the early record')
    expect(await read(dir, 'early')).toEqual({node: 'node-a', filters: ['a/#']})
    // After the check, a change is written at the end of the turn.
    s.subscriptions.set('b/+', opts(2))
    dir.changed(s, false)
    await waitFor(async () => JSON.stringify(await read(dir, 'early')) === JSON.stringify({node: 'node-a', filters: ['a/#', 'b/+']}), 5000, 'the change')
  })

  it('a session let go by the check (forget) is not written; one ended before the start ends only a record naming this node', async () => {
    const {prefix, dir} = directory()
    const other = new SessionDirectory(prefix, 'node-b', 1, memoryLogger('debug'))
    await other.start(env.nc)
    await other.flush()
    // Records as they were while this node was down: 'moved' and 'taken' now name node B, 'mine' names this node.
    other.write('moved', {expiryInterval: 600, subscriptions: [['m/#', opts(1)]]})
    other.write('taken', {expiryInterval: 600, subscriptions: [['t/#', opts(1)]]})
    const a = new SessionDirectory(prefix, 'node-a', 1, memoryLogger('debug'))
    await a.start(env.nc)
    a.write('mine', {expiryInterval: 600, subscriptions: [['x/#', opts(1)]]})
    await waitFor(async () => (await read(a, 'mine')) !== undefined && (await read(a, 'taken')) !== undefined && (await read(a, 'moved')) !== undefined, 5000, 'the three records')
    // This node, before JetStream is up: 'moved' changes (then the check lets it go), 'mine' and 'taken' end.
    dir.changed(session('moved', ['m/#', 'n/#']), false)
    dir.changed(session('mine', []), true)
    dir.changed(session('taken', []), true)
    await dir.start(env.nc)
    dir.forget('moved')
    await dir.flush()
    await waitFor(async () => (await read(dir, 'mine')) === 'ended', 5000, 'the ended session\'s record goes')
    expect(await read(dir, 'moved')).toEqual({node: 'node-b', filters: ['m/#']})
    expect(await read(dir, 'taken')).toEqual({node: 'node-b', filters: ['t/#']})
  })

  it('confirm rewrites a record naming this node only when it differs from the session', async () => {
    const {dir} = directory()
    await dir.start(env.nc)
    await dir.flush()
    const s = session('c', ['a/#'])
    dir.write('c', {expiryInterval: 600, subscriptions: [...s.subscriptions]})
    await waitFor(async () => (await read(dir, 'c')) !== undefined, 5000, 'the record')
    const first = await dir.lookup('c')
    if (first === undefined || first === 'ended') throw new Error('no record')
    dir.confirm(first, s)
    // The same: nothing written (the sequence stays).
    const again = await dir.lookup('c')
    expect(again !== undefined && again !== 'ended' && again.seq).toBe(first.seq)
    // Changed while JetStream was away (the write was lost): the check rewrites it.
    s.subscriptions.set('z/#', opts(1))
    dir.confirm(first, s)
    await waitFor(async () => JSON.stringify(await read(dir, 'c')) === JSON.stringify({node: 'node-a', filters: ['a/#', 'z/#']}), 5000, 'the rewritten record')
  })

  it('stopped (a failed start): changes are kept again until the next start and check', async () => {
    const {dir} = directory()
    await dir.start(env.nc)
    await dir.flush()
    await dir.stop()
    dir.changed(session('later', ['l/#']), false)
    await new Promise((r) => setImmediate(r))
    await dir.start(env.nc)
    expect(await read(dir, 'later')).toBeUndefined()
    await dir.flush()
    await waitFor(async () => (await read(dir, 'later')) !== undefined, 5000, 'the kept record')
  })

  it('flush() never throws (it also runs from a timer): a JetStream error on the way is logged', async () => {
    const log = memoryLogger('debug')
    const prefix = `dw${process.pid}x${n++}`
    const dir = new SessionDirectory(prefix, 'node-a', 1, log)
    dir.changed(session('gone', []), true)
    await dir.start(env.nc)
    await (await env.nc.jetstreamManager()).streams.delete(dir.stream)
    await expect(dir.flush()).resolves.toBeUndefined()
    expect(log.lines.join('\n')).toMatch(/could not record a session's node in JetStream: .*stream not found/i)
  })

  it('an end that does not land (JetStream away) is tried again at the next flush', async () => {
    const log = memoryLogger('debug')
    const prefix = `dw${process.pid}x${n++}`
    const dir = new SessionDirectory(prefix, 'node-a', 1, log)
    await dir.start(env.nc)
    await dir.flush()
    const s = session('left', ['l/#'])
    dir.changed(s, false)
    await waitFor(async () => (await read(dir, 'left')) !== undefined, 5000, 'the record')
    // The stream goes away: the end of the session cannot be written.
    await (await env.nc.jetstreamManager()).streams.delete(dir.stream)
    dir.changed(s, true)
    await waitFor(() => log.lines.some((l) => l.includes('could not record a session\'s node')), 5000, 'the failed end')
    // JetStream back with the record as it was (this node's): the next flush ends it.
    const other = new SessionDirectory(prefix, 'node-a', 1, memoryLogger('warn'))
    await other.start(env.nc)
    other.write('left', {expiryInterval: 600, subscriptions: [['l/#', opts(1)]]})
    await waitFor(async () => (await read(other, 'left')) !== undefined, 5000, 'the record again')
    await dir.flush()
    await waitFor(async () => (await read(dir, 'left')) === 'ended', 5000, 'the end, tried again')
  })
})
