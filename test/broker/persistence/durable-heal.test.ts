/**
 * A damaged snapshot is rewritten at the start that finds it (load.ts reports it, durable.ts compacts
 * at once): what was kept is on disk in a complete snapshot again, so the next start neither repeats
 * the error line nor depends on the damaged file.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {waitFor} from '../../helpers/mqtt.js'
import {cleanupStores, openStore, tempDir} from './helpers.js'

cleanupStores()

describe('DurableStore: healing a damaged snapshot', () => {
  it('a snapshot cut short is rewritten at start; the next start loads cleanly with the same sessions', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    for (let i = 0; i < 20; i++) store.createSession(`s${i}`, 60)
    await store.compact()
    store.createSession('later', 60)
    await store.flushed()
    await store.close()
    const snap = readdirSync(join(dir, 'store')).find((n) => /^snapshot-\d+\.bin$/.test(n))!
    const path = join(dir, 'store', snap)
    const bytes = readFileSync(path)
    writeFileSync(path, bytes.subarray(0, bytes.length - 30)) // the end record and part of the last session gone

    const log = memoryLogger('info')
    const again = await openStore({dir, logger: log})
    expect(log.lines.filter((l) => l.includes('is damaged'))).toHaveLength(1)
    const kept = [...again.sessions()].map((s) => s.clientId).sort()
    expect(kept).toContain('later')
    expect(kept.length).toBeGreaterThanOrEqual(19)
    await waitFor(() => again.figures().compactions === 1, 10_000, 'the compaction at start')
    await again.close()

    const log3 = memoryLogger('info')
    const third = await openStore({dir, logger: log3})
    expect(log3.lines.filter((l) => l.includes('damaged'))).toEqual([])
    expect([...third.sessions()].map((s) => s.clientId).sort()).toEqual(kept)
  })

  it('a clean start does not compact', async () => {
    const dir = tempDir()
    const store = await openStore({dir})
    store.createSession('a', 60)
    await store.flushed()
    await store.close()
    const again = await openStore({dir})
    again.createSession('b', 60)
    await again.flushed()
    expect(again.figures().compactions).toBe(0)
  })
})
