/** src/bench/measure-broker.ts directly: the measured broker child (plain, TLS, WebSocket), its readings, and stopping it. */
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import tls from 'node:tls'
import {describe, expect, it} from 'vitest'
import {checkAborted, MeasureError, type MeasuredBroker, settled, sleep, startBroker, withBroker} from '../../src/bench/measure-broker.js'
import {isAlive} from '../../src/broker/process/state.js'

const CONNECT = Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61])
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1]

function connack(socket: net.Socket): Promise<number[]> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => (resolve([...d.subarray(0, 4)]), socket.destroy()))
    socket.once('error', reject)
    socket.write(CONNECT)
  })
}

describe('startBroker', () => {
  it('our runtime on 127.0.0.1 with TLS and WebSocket listeners, RSS and CPU read from /proc, stopped and its data directory removed', async () => {
    const b = await startBroker({settleMs: 0}, 500, true, true)
    const args = cmdline(b.pid)
    const dataDir = argAfter(args, '--data-dir')
    try {
      expect(isAlive(b.pid)).toBe(true)
      expect(argAfter(args, '--max-connections')).toBe('500')
      expect(args).toContain('--max-semi-space-size=2')
      expect(existsSync(dataDir)).toBe(true)
      expect(b.rss()).toBeGreaterThan(1_000_000)
      expect(b.cpu()).toBeGreaterThanOrEqual(0)
      const plain = net.connect(b.port, '127.0.0.1')
      await new Promise((r) => plain.once('connect', r))
      expect(await connack(plain)).toEqual([0x20, 0x02, 0x00, 0x00])
      const secure = tls.connect({port: b.tlsPort!, host: '127.0.0.1', rejectUnauthorized: false})
      await new Promise((r) => secure.once('secureConnect', r))
      expect(await connack(secure)).toEqual([0x20, 0x02, 0x00, 0x00])
      expect(b.wsPort).toBeTypeOf('number')
    } finally {
      await b.stop()
    }
    expect(isAlive(b.pid)).toBe(false)
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)

  it('an entry that never listens: MeasureError with its own stderr; its memory flags replaced by the spec\'s', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'mqttctl-mb-')), 'fails.mjs')
    writeFileSync(script, 'console.error("flags: " + process.execArgv.join(" ")); console.error("ERROR: cannot start here"); process.exit(1)\n')
    const e = await startBroker({settleMs: 0, nodeFlags: ['--max-semi-space-size=4'], entry: {cmd: process.execPath, args: ['--max-old-space-size=64', script]}}, 10).catch((error: unknown) => error)
    expect(e).toBeInstanceOf(MeasureError)
    const message = (e as Error).message
    expect(message).toMatch(/^the broker did not start: /)
    expect(message).toContain('ERROR: cannot start here')
    expect(message).toContain('flags: --max-semi-space-size=4')
    expect(message).not.toContain('--max-old-space-size=64')
  }, 60_000)
})

describe('withBroker', () => {
  it('stops the broker even when the step throws', async () => {
    let pid = 0
    await expect(
      withBroker({settleMs: 0}, 10, async (b) => {
        pid = b.pid
        throw new Error('step failed')
      }),
    ).rejects.toThrow('step failed')
    expect(pid).toBeGreaterThan(0)
    expect(isAlive(pid)).toBe(false)
  }, 60_000)
})

describe('settled, sleep, checkAborted', () => {
  const fake = (readings: number[]): MeasuredBroker => {
    let i = 0
    return {pid: 0, port: 0, rss: () => readings[Math.min(i++, readings.length - 1)], cpu: () => 0, stop: async () => {}}
  }

  it('settled: the least reading over the window (V8 gives memory back in steps); no window: one reading', async () => {
    expect(await settled(fake([900, 700, 800]), {settleMs: 1500})).toBe(700)
    expect(await settled(fake([123]), {settleMs: 0})).toBe(123)
  })

  it('sleep ends at once when its signal aborts', async () => {
    const ac = new AbortController()
    const slept = sleep(3_600_000, ac.signal)
    ac.abort()
    await expect(slept).resolves.toBeUndefined()
  })

  it('checkAborted: a MeasureError once the time limit was reached', () => {
    const ac = new AbortController()
    expect(() => checkAborted({settleMs: 0, signal: ac.signal})).not.toThrow()
    ac.abort()
    expect(() => checkAborted({settleMs: 0, signal: ac.signal})).toThrow(new MeasureError('stopped: the time limit was reached'))
  })
})
