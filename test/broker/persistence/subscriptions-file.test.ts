/**
 * subscriptions.json directly (subscriptions-file.ts): the view is written at most intervalMs after
 * a change (injected clock), atomically, persistent sessions only, in slices; a failed write is one
 * warning and retried; at start a hostile file (not JSON, wrong shape, wrong types, out-of-range
 * values) is moved aside or its bad entries skipped, never trusted.
 */
import {closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {nodeFs, type StoreFs} from '../../../src/broker/persistence/files.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {newSession} from '../../../src/broker/persistence/session-record.js'
import type {SessionRecord} from '../../../src/broker/persistence/store.js'
import {importView, MAX_VIEW_BYTES, readSubscriptionsFile, SubscriptionsFile} from '../../../src/broker/persistence/subscriptions-file.js'
import {ManualClock} from '../../helpers/clock.js'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupStores, opts, tempDir} from './helpers.js'

cleanupStores()

const NOW = Date.UTC(2026, 11, 3, 10, 15)
/** Log lines without their time stamp. */
const bare = (lines: string[]) => lines.map((l) => l.replace(/^\[[^\]]+\] /, ''))

function view(o: {sessions: SessionRecord[]; fs?: StoreFs; intervalMs?: number}) {
  const dir = tempDir()
  const path = join(dir, 'subscriptions.json')
  const clock = new ManualClock(NOW)
  const log = memoryLogger('info')
  const file = new SubscriptionsFile({path, intervalMs: o.intervalMs ?? 10_000, fs: o.fs ?? nodeFs, timers: clock, logger: log, sessions: () => o.sessions})
  const read = () => JSON.parse(readFileSync(path, 'utf8')) as {sessions: Array<{clientId: string; expiryInterval: number; subscriptions: Array<Record<string, unknown>>}>}
  return {file, path, dir, clock, log, read}
}

function session(id: string, expiry: number, subs: Record<string, ReturnType<typeof opts>> = {}): SessionRecord {
  const s = newSession(id, expiry)
  for (const [f, o] of Object.entries(subs)) s.subscriptions.set(f, o)
  return s
}

describe('SubscriptionsFile', () => {
  it('a change is written once the interval has passed, not before; changes meanwhile share the write', async () => {
    const sessions = [session('a', 60, {'a/+': opts(1)})]
    const v = view({sessions, intervalMs: 5000})
    v.file.changed()
    v.clock.advance(4999)
    sessions.push(session('b', 60))
    v.file.changed()
    await new Promise((r) => setImmediate(r))
    expect(existsSync(v.path)).toBe(false)
    v.clock.advance(1)
    await waitFor(() => v.file.writes === 1, 10_000, 'the write')
    expect(v.read().sessions.map((s) => s.clientId)).toEqual(['a', 'b'])
    expect(v.clock.pending).toBe(0)
    expect(readdirSync(v.dir)).toEqual(['subscriptions.json']) // no temporary file left
  })

  it('persistent sessions only, options written only when not the default, valid JSON with odd names', async () => {
    const odd = 'quote" back\\slash\nnewline ü'
    const sessions = [
      session('clean', 0, {x: opts(0)}),
      session(odd, 0xffffffff, {'a/#': {qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 7}, [odd]: opts(0)}),
    ]
    const v = view({sessions})
    await v.file.flush()
    const got = v.read()
    expect(got.sessions).toEqual([
      {clientId: odd, expiryInterval: 0xffffffff, subscriptions: [{filter: 'a/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 7}, {filter: odd, qos: 0}]},
    ])
    expect(readSubscriptionsFile(v.path, v.log, NOW)).toEqual([
      {clientId: odd, expiryInterval: 0xffffffff, subscriptions: [{filter: 'a/#', options: {qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 7}}, {filter: odd, options: opts(0)}]},
    ])
  })

  it('thousands of sessions (written a slice at a time) make one valid file', async () => {
    const sessions = Array.from({length: 4501}, (_, i) => session(`s${i}`, 10, {[`t/${i}`]: opts(1)}))
    const v = view({sessions})
    await v.file.flush()
    const got = v.read().sessions
    expect(got).toHaveLength(4501)
    expect(got[4500]).toEqual({clientId: 's4500', expiryInterval: 10, subscriptions: [{filter: 't/4500', qos: 1}]})
  })

  it('stop(): writes when dirty or missing, then no timer is armed by later changes', async () => {
    const v = view({sessions: [session('a', 1)]})
    await v.file.stop()
    expect(v.file.writes).toBe(1) // missing: written
    await v.file.stop()
    expect(v.file.writes).toBe(1) // present and clean: not again
    v.file.changed()
    expect(v.clock.pending).toBe(0)
  })

  it('a failed write: one warning, retried at the next change, one line when it works again', async () => {
    let failing = 2
    const fs: StoreFs = {...nodeFs, rename: async (a, b) => {
      if (failing-- > 0) throw Object.assign(new Error('no space'), {code: 'ENOSPC'})
      return nodeFs.rename(a, b)
    }}
    const v = view({sessions: [session('a', 1)], fs, intervalMs: 100})
    await v.file.flush()
    v.file.changed()
    v.clock.advance(100)
    await waitFor(() => failing === 0, 10_000, 'the second try')
    await v.file.flush()
    expect(v.file.writes).toBe(1)
    expect(bare(v.log.lines).filter((l) => l.includes('cannot write'))).toEqual([`WARN: Store: cannot write ${v.path} (ENOSPC); the store keeps the subscriptions, the view is retried`])
    expect(bare(v.log.lines).filter((l) => l.includes('written again'))).toEqual([`INFO: Store: ${v.path} written again`])
    expect(readdirSync(v.dir)).toEqual(['subscriptions.json'])
  })

  it('a change whose write failed is written at stop', async () => {
    let fail = false
    const fs: StoreFs = {...nodeFs, rename: async (a, b) => {
      if (fail) throw Object.assign(new Error('io'), {code: 'EIO'})
      return nodeFs.rename(a, b)
    }}
    const sessions = [session('a', 1)]
    const v = view({sessions, fs, intervalMs: 100})
    await v.file.flush()
    fail = true
    sessions.push(session('b', 1))
    v.file.changed()
    v.clock.advance(100)
    await waitFor(() => v.log.lines.some((l) => l.includes('cannot write')), 10_000, 'the failed write')
    fail = false
    await v.file.stop()
    expect(v.read().sessions.map((s) => s.clientId)).toEqual(['a', 'b'])
  })
})

describe('readSubscriptionsFile', () => {
  const write = (text: string) => {
    const path = join(tempDir(), 'subscriptions.json')
    writeFileSync(path, text)
    return path
  }

  it('missing: undefined, nothing logged', () => {
    const log = memoryLogger('info')
    expect(readSubscriptionsFile(join(tempDir(), 'subscriptions.json'), log, NOW)).toBeUndefined()
    expect(log.lines).toEqual([])
  })

  it.each([
    ['not JSON', '{"sessions": [', /is not a valid view \(.*JSON.*\)/],
    ['a list', '[]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['sessions not a list', '{"sessions": {"a": 1}}', /"sessions" is not a list/],
    ['no sessions', '{}', /"sessions" is not a list/],
  ])('%s: one warning, moved aside to .bad-<time>, undefined', (_name, text, why) => {
    const path = write(text)
    const log = memoryLogger('info')
    expect(readSubscriptionsFile(path, log, NOW)).toBeUndefined()
    expect(log.lines).toHaveLength(1)
    expect(log.lines[0]).toMatch(why)
    expect(log.lines[0]).toContain(`moved to ${path}.bad-20261203T101500Z`)
    expect(existsSync(path)).toBe(false)
    expect(readFileSync(`${path}.bad-20261203T101500Z`, 'utf8')).toBe(text)
  })

  it('a file larger than MAX_VIEW_BYTES is not read at all: one warning, moved aside', () => {
    const path = join(tempDir(), 'subscriptions.json')
    const fd = openSync(path, 'w')
    ftruncateSync(fd, 3 * 1024 ** 3) // sparse: 3 GiB that take no disk space
    closeSync(fd)
    const log = memoryLogger('info')
    expect(readSubscriptionsFile(path, log, NOW)).toBeUndefined()
    expect(log.lines).toHaveLength(1)
    expect(log.lines[0]).toContain(`is not a valid view (larger than ${MAX_VIEW_BYTES} bytes): ignored, moved to ${path}.bad-20261203T101500Z`)
  })

  it('entries with a bad client id (empty, too long, U+0000, a lone surrogate), expiry, filter, QoS, retain handling or subscription id are skipped and counted', () => {
    const sub = (o: Record<string, unknown>) => ({filter: 'ok/+', qos: 1, ...o})
    const sessions = [
      {clientId: 'good', expiryInterval: 5, subscriptions: [sub({}), sub({filter: 'a/#/b'}), sub({qos: 3}), sub({qos: '1'}), sub({retainHandling: 3}), sub({subscriptionId: 0}), sub({subscriptionId: 268_435_456}), sub({subscriptionId: 1.5}), sub({filter: 7}), null, 'x', sub({subscriptionId: 268_435_455, retainHandling: 1})]},
      {clientId: '', expiryInterval: 5, subscriptions: []},
      {clientId: 'x'.repeat(65_536), expiryInterval: 5, subscriptions: []},
      {clientId: 'zero', expiryInterval: 0, subscriptions: []},
      {clientId: 'neg', expiryInterval: -1, subscriptions: []},
      {clientId: 'frac', expiryInterval: 1.5, subscriptions: []},
      {clientId: 'huge', expiryInterval: 0x1_0000_0000, subscriptions: []},
      {clientId: 'str', expiryInterval: '5', subscriptions: []},
      {clientId: 'nosubs', expiryInterval: 5},
      {clientId: 42, expiryInterval: 5, subscriptions: []},
      {clientId: 'nul\u0000id', expiryInterval: 5, subscriptions: []},
      {clientId: 'lone\ud800', expiryInterval: 5, subscriptions: []},
      {clientId: 'odd-filter', expiryInterval: 5, subscriptions: [sub({filter: 'a/\udc00'})]},
      null,
      [],
    ]
    const log = memoryLogger('info')
    const got = readSubscriptionsFile(write(JSON.stringify({sessions})), log, NOW)
    expect(got).toEqual([
      {
        clientId: 'good',
        expiryInterval: 5,
        subscriptions: [
          {filter: 'ok/+', options: opts(1)},
          {filter: 'ok/+', options: {...opts(1), retainHandling: 1, subscriptionId: 268_435_455}},
        ],
      },
      {clientId: 'odd-filter', expiryInterval: 5, subscriptions: []},
    ])
    expect(log.lines).toEqual([expect.stringMatching(/WARN: Store: .*subscriptions\.json: skipped 24 invalid entries/)])
  })
})

describe('importView', () => {
  it('creates each session with its subscriptions in the store and says how many', () => {
    const store = new MemoryStore()
    const log = memoryLogger('info')
    importView([{clientId: 'a', expiryInterval: 9, subscriptions: [{filter: 'x/#', options: opts(2)}]}, {clientId: 'b', expiryInterval: 1, subscriptions: []}], store, log)
    expect(store.getSession('a')).toMatchObject({expiryInterval: 9})
    expect([...store.getSession('a')!.subscriptions]).toEqual([['x/#', opts(2)]])
    expect(store.sessionCount).toBe(2)
    expect(bare(log.lines)).toEqual(['INFO: Store: imported 2 sessions with their subscriptions from subscriptions.json (the store was empty)'])
  })
})
