/**
 * cluster/link.ts: the network waits of a node. Retry.connect against a real nats-server that is down
 * and then comes back (one warning, then the connection), close() cutting every wait short, the
 * JetStream start retried with fresh parts, drainAll bounded by a ManualClock timeout or a lost link,
 * flushWithin's answers, and the "JetStream is not enabled" hint.
 */
import {createServer, type Socket} from 'node:net'
import {connect, type NatsConnection} from 'nats'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {closeNow, drainAll, flushWithin, jetStreamHint, Retry} from '../../../src/broker/cluster/link.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {ManualClock} from '../../helpers/clock.js'
import {waitFor} from '../../helpers/mqtt.js'
import {type NatsServer, startNats} from '../../helpers/nats.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNats({jetstream: false})
}, 30_000)
afterAll(async () => {
  await nats?.stop()
})

/** A connection stand-in whose drain/flush never answer (a server that stopped answering). */
function stuck() {
  const calls: string[] = []
  const c = {
    drain: () => (calls.push('drain'), new Promise<void>(() => {})),
    close: () => (calls.push('close'), Promise.resolve()),
    flush: () => new Promise<void>(() => {}),
  }
  return {calls, c: c as unknown as NatsConnection}
}

describe('jetStreamHint', () => {
  it('turns "503" and "no responders" into an actionable line, passes other errors through', () => {
    const hint = 'JetStream is not enabled on that NATS server: start nats-server with -js (or jetstream {} in its configuration)'
    expect(jetStreamHint(new Error('503'))).toBe(hint)
    expect(jetStreamHint(new Error('no responders available for request'))).toBe(hint)
    expect(jetStreamHint(new Error('stream name already in use'))).toBe('stream name already in use')
    expect(jetStreamHint('plain string')).toBe('plain string')
    expect(jetStreamHint(new Error('5030 things'))).toBe('5030 things')
  })
})

describe('Retry', () => {
  it('connect() retries a server that is down, warning once, and returns the connection once it is up', async () => {
    await nats.stop(true)
    const logger = memoryLogger('warn')
    const retry = new Retry()
    const pending = retry.connect({servers: nats.url, reconnect: false}, 20, logger)
    await waitFor(() => logger.lines.length > 0, 10_000, 'the warning')
    nats = await nats.restart()
    const nc = await pending
    expect(nc).toBeDefined()
    await nc!.close()
    expect(logger.lines).toHaveLength(1)
    expect(logger.lines[0]).toContain(`cluster: cannot reach NATS at ${nats.url} (`)
    expect(logger.lines[0]).toContain('serving local clients only, retrying')
  })

  it('warns once however many attempts fail, and close() ends the loop with undefined', async () => {
    const sockets: Socket[] = []
    const refuser = createServer((s) => (sockets.push(s), s.destroy())) // accepts and hangs up: not NATS
    await new Promise<void>((r) => refuser.listen(0, '127.0.0.1', r))
    const port = (refuser.address() as {port: number}).port
    const logger = memoryLogger('warn')
    const retry = new Retry()
    try {
      const pending = retry.connect({servers: `nats://127.0.0.1:${port}`, reconnect: false}, 5, logger)
      await waitFor(() => sockets.length >= 3, 10_000, 'three attempts')
      retry.close()
      expect(await pending).toBeUndefined()
      expect(logger.lines).toHaveLength(1)
    } finally {
      retry.close()
      await new Promise((r) => refuser.close(r))
    }
  })

  it('close() ends a pause at once and makes connect() give up with undefined', async () => {
    const retry = new Retry()
    const paused = retry.pause(3_600_000)
    retry.close()
    await paused
    expect(retry.closed).toBe(true)
    expect(await retry.connect({servers: nats.url}, 10, memoryLogger())).toBeUndefined()
  })

  it('jetStream() builds fresh parts per attempt, stops the failed ones, and reports the first failure as first', async () => {
    const retry = new Retry()
    const log: string[] = []
    let attempt = 0
    const make = () => {
      const a = ++attempt
      return [{stream: `S${a}`, start: async () => {
        if (a < 3) throw new Error(`no ${a}`)
      }, stop: async () => void log.push(`stop ${a}`)}] as const
    }
    const firsts: boolean[] = []
    const got = await retry.jetStream(make, 1, (_e, first) => firsts.push(first))
    expect(got?.parts[0].stream).toBe('S3')
    expect(got?.retried).toBe(true)
    expect(firsts).toEqual([true, false])
    expect(log.filter((l) => l.startsWith('stop'))).toEqual(['stop 1', 'stop 2'])
    retry.close()
    expect(await retry.jetStream(make, 1, () => {})).toBeUndefined()
  })
})

describe('drainAll / closeNow / flushWithin', () => {
  it('drains live connections and skips missing ones', async () => {
    const nc = await connect({servers: nats.url})
    await drainAll([nc, undefined])
    expect(nc.isClosed()).toBe(true)
  })

  it('closes a connection whose drain does not finish within the timeout (ManualClock), and clears its timer', async () => {
    const clock = new ManualClock(0)
    const {c, calls} = stuck()
    const done = drainAll([c], 2000, clock)
    await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['drain'])
    clock.advance(1999)
    await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['drain'])
    clock.advance(1)
    await done
    expect(calls).toEqual(['drain', 'close'])
    expect(clock.pending).toBe(0)
  })

  it('closes at once when the link is lost while draining', async () => {
    const clock = new ManualClock(0)
    const {c, calls} = stuck()
    await drainAll([c], 60_000, clock, Promise.resolve()) // the link went down meanwhile
    expect(calls).toEqual(['drain', 'close'])
    expect(clock.pending).toBe(0)
  })

  it('closeNow closes everything and swallows close errors', async () => {
    const nc = await connect({servers: nats.url})
    const bad = {close: () => Promise.reject(new Error('already gone'))} as unknown as NatsConnection
    await closeNow([nc, bad, undefined])
    expect(nc.isClosed()).toBe(true)
  })

  it('flushWithin: resolves on a live connection, rejects without one or when the server does not answer in time', async () => {
    const nc = await connect({servers: nats.url})
    await expect(flushWithin(nc, 5000)).resolves.toBeUndefined()
    await nc.close()
    await expect(flushWithin(undefined, 5000)).rejects.toThrow('not connected to NATS')
    await expect(flushWithin(stuck().c, 30)).rejects.toThrow('NATS did not confirm within 0.03 s')
    const odd = {flush: () => Promise.reject('string reason')} as unknown as NatsConnection
    await expect(flushWithin(odd, 5000)).rejects.toThrow('string reason')
  })
})
