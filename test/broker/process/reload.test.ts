/**
 * process/reload.ts: the runtime's SIGHUP handler with real signals to this test process, and the
 * broker.reload.json report `mqttctl reload` waits for (written whole, read back defensively).
 */
import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {readReloadState, reloadFile, reloadOnSighup, writeReloadState} from '../../../src/broker/process/reload.js'
import {brokerFiles} from '../../../src/broker/process/state.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-reload-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
let n = 0
const files = () => brokerFiles(mkdtempSync(join(dir, `d${n++}-`)))

/** A logger whose next line can be awaited (the signal arrives asynchronously). */
function logger() {
  const lines: string[] = []
  let wake: (() => void) | undefined
  const push = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`)
    wake?.()
  }
  return {
    lines,
    info: push('info'),
    warn: push('warn'),
    /** Sends SIGHUP to this process and resolves once the handler has logged `count` more lines. */
    hup(count = 1): Promise<void> {
      const target = lines.length + count
      const done = new Promise<void>((r) => (wake = () => lines.length >= target && setImmediate(r)))
      process.kill(process.pid, 'SIGHUP')
      return done
    },
  }
}

describe('reloadOnSighup', () => {
  it('a SIGHUP before the broker is attached is logged and ignored: no report written', async () => {
    const f = files()
    const log = logger()
    const hup = reloadOnSighup(log, f)
    try {
      await log.hup()
      expect(log.lines).toEqual(['warn received SIGHUP while starting: nothing reloaded'])
      expect(existsSync(reloadFile(f))).toBe(false)
    } finally {
      hup.detach()
    }
  })

  it('once attached each SIGHUP reloads and writes the report with a growing seq, ok and the lines', async () => {
    const f = files()
    const log = logger()
    const hup = reloadOnSighup(log, f)
    const results = [{ok: true, lines: ['password file reloaded']}, {ok: false, lines: ['kept the previous ACL: line 3']}]
    let calls = 0
    hup.attach({reload: () => results[calls++]})
    try {
      await log.hup()
      expect(log.lines[0]).toBe('info received SIGHUP: reloading the password file, ACL file and TLS certificates')
      expect(readReloadState(f)).toMatchObject({seq: 1, pid: process.pid, ok: true, lines: ['password file reloaded']})
      await log.hup()
      const second = readReloadState(f)!
      expect(second).toMatchObject({seq: 2, ok: false, lines: ['kept the previous ACL: line 3']})
      expect(Number.isNaN(Date.parse(second.at))).toBe(false)
      expect(readdirSync(f.dataDir)).toEqual(['broker.reload.json']) // no temp file left
    } finally {
      hup.detach()
    }
  })

  it('a --workers worker (report = false) reloads but writes no report: the primary answers mqttctl reload', async () => {
    const f = files()
    const log = logger()
    const hup = reloadOnSighup(log, f, true, false)
    let calls = 0
    hup.attach({reload: () => (calls++, {ok: true, lines: ['w']})})
    try {
      await log.hup()
      expect(calls).toBe(1)
      expect(existsSync(reloadFile(f))).toBe(false)
    } finally {
      hup.detach()
    }
  })

  it('a report that cannot be written is one warning naming the file and the code; the handler lives on', async () => {
    const f = brokerFiles(join(dir, 'no-such-dir'))
    const log = logger()
    const hup = reloadOnSighup(log, f)
    hup.attach({reload: () => ({ok: true, lines: []})})
    try {
      await log.hup(2)
      expect(log.lines[1]).toBe(`warn cannot write ${join(dir, 'no-such-dir', 'broker.reload.json')}: ENOENT`)
    } finally {
      hup.detach()
    }
  })

  it('detach removes the handler; install = false never adds one', () => {
    const before = process.listenerCount('SIGHUP')
    const hup = reloadOnSighup(logger(), files())
    expect(process.listenerCount('SIGHUP')).toBe(before + 1)
    hup.detach()
    expect(process.listenerCount('SIGHUP')).toBe(before)
    reloadOnSighup(logger(), files(), false).detach()
    expect(process.listenerCount('SIGHUP')).toBe(before)
  })
})

describe('readReloadState / writeReloadState', () => {
  it('round-trips a report', () => {
    const f = files()
    const state = {seq: 3, pid: 42, at: '2026-12-03T15:00:00.000Z', ok: true, lines: ['a', 'b']}
    writeReloadState(f, state)
    expect(readReloadState(f)).toEqual(state)
  })

  it('a missing, truncated, non-JSON or wrongly shaped file reads as no report', () => {
    const f = files()
    expect(readReloadState(f)).toBeUndefined()
    for (const text of ['{"seq": 1, "pid"', 'not json', 'null', '[]', '{"seq":"1","pid":1,"lines":[]}', '{"seq":1,"pid":1,"lines":"x"}', '{"seq":1,"lines":[]}']) {
      writeFileSync(reloadFile(f), text)
      expect(readReloadState(f), text).toBeUndefined()
    }
  })
})
