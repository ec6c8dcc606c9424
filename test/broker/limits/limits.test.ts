/**
 * limits/limits.ts: the broker-wide Limits service on a real MemoryStore and a ManualClock: retained
 * messages by count and bytes (replacing, deleting, expiry, '$' topics exempt) and faults logged once
 * per kind with a bounded table.
 */
import {describe, expect, it} from 'vitest'
import {type BrokerLimits, DEFAULT_CONFIG} from '../../../src/config/index.js'
import {Limits} from '../../../src/broker/limits/limits.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Message} from '../../../src/broker/message.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {SAMPLE_MS} from '../../../src/broker/limits/overload.js'
import {ManualClock} from '../../helpers/clock.js'

function setup(over: Partial<BrokerLimits> = {}) {
  const clock = new ManualClock(1_000_000)
  const store = new MemoryStore()
  const stats = new BrokerStats()
  const logger = memoryLogger('debug')
  const limits = new Limits({...DEFAULT_CONFIG.limits, ...over}, {stats, store, clock, logger})
  /** What the broker does after admitRetained says yes. */
  const retain = (topic: string, payload: string, expiresAt = 0): boolean => {
    const msg: Message = {topic, payload: Buffer.from(payload), qos: 0, retain: true, expiresAt}
    if (!limits.admitRetained(msg)) return false
    store.setRetained({topic, payload: msg.payload, qos: 0, expiresAt})
    return true
  }
  const remove = (topic: string): void => {
    limits.retainedDeleted(topic)
    store.deleteRetained(topic)
  }
  return {clock, store, stats, logger, limits, retain, remove}
}

describe('Limits.admitRetained', () => {
  it('keeps new topics up to maxRetainedMessages, then refuses, counts and logs one debug line naming the limit', () => {
    const {retain, stats, logger} = setup({maxRetainedMessages: 2})
    expect(retain('a', 'x')).toBe(true)
    expect(retain('b', 'x')).toBe(true)
    expect(retain('c', 'x')).toBe(false)
    expect(stats.limitsReached).toBe(1)
    expect(logger.lines.at(-1)).toContain('Retained message on "c" not kept: limits.maxRetainedMessages reached')
  })

  it("the broker's own retained $SYS topics do not count against maxRetainedMessages", () => {
    const {retain, store} = setup({maxRetainedMessages: 2})
    store.setRetained({topic: '$SYS/broker/uptime', payload: Buffer.from('1'), qos: 0, expiresAt: 0})
    store.setRetained({topic: '$SYS/broker/clients/connected', payload: Buffer.from('0'), qos: 0, expiresAt: 0})
    expect(retain('a', 'x')).toBe(true)
    expect(retain('b', 'x')).toBe(true)
    expect(retain('c', 'x')).toBe(false)
  })

  it('replacing a retained topic at the count limit is allowed (no new topic)', () => {
    const {retain} = setup({maxRetainedMessages: 1})
    expect(retain('a', 'x')).toBe(true)
    expect(retain('a', 'yy')).toBe(true)
    expect(retain('b', 'x')).toBe(false)
  })

  it('counts topic + payload bytes: exactly at maxRetainedBytes is kept, one byte past is refused', () => {
    const {retain, stats, logger} = setup({maxRetainedBytes: 10})
    expect(retain('ab', '123')).toBe(true) // 5
    expect(retain('cd', '1234')).toBe(false) // 5 + 6 = 11
    expect(logger.lines.at(-1)).toContain('limits.maxRetainedBytes reached')
    expect(retain('cd', '123')).toBe(true) // 10
    expect(stats.limitsReached).toBe(1)
  })

  it('a replacement is charged only the difference, and a deletion gives its bytes back', () => {
    const {retain, remove} = setup({maxRetainedBytes: 10})
    expect(retain('ab', '12345678')).toBe(true) // 10
    expect(retain('ab', '1234')).toBe(true) // 6
    expect(retain('c', '123')).toBe(true) // 10
    expect(retain('d', '1')).toBe(false)
    remove('ab')
    expect(retain('d', '1')).toBe(true) // 4 + 2
  })

  it('expired messages free their bytes: the total is recounted before a refusal', () => {
    const {retain, clock} = setup({maxRetainedBytes: 10})
    expect(retain('ab', '12345678', 1_000_500)).toBe(true)
    expect(retain('c', '1')).toBe(false)
    clock.advance(1000) // past the expiry: matchRetained drops it
    expect(retain('c', '123456789')).toBe(true) // exactly the limit once recounted
  })

  it("the broker's own '$' topics are never refused and their bytes do not count", () => {
    const {retain, remove, stats} = setup({maxRetainedBytes: 4})
    expect(retain('$SYS/broker/uptime', '123456789')).toBe(true)
    expect(retain('$SYS/broker/load', '1')).toBe(true)
    expect(retain('abc', '1')).toBe(true) // 4 bytes: only the client's topic counts
    remove('$SYS/broker/uptime') // gives nothing back that was never charged
    expect(retain('d', '1')).toBe(false)
    expect(stats.limitsReached).toBe(1)
  })
})

describe('Limits.fault and reached', () => {
  it('counts every fault and logs the first of each kind once, with its stack', () => {
    const {limits, stats, logger} = setup()
    const err = new Error('boom')
    limits.fault('decoding', 'c1', err)
    limits.fault('decoding', 'c2', new Error('boom'))
    limits.fault('encoding', 'c1', err)
    limits.fault('decoding', 'c3', 'a string thrown')
    expect(stats.internalErrors).toBe(4)
    const errors = logger.lines.filter((l) => l.includes('Internal error'))
    expect(errors).toHaveLength(3)
    expect(errors[0]).toContain('Internal error decoding client c1 (logged once per kind, counted in internal-errors): Error: boom')
    expect(errors[2]).toContain('a string thrown')
    limits.reached()
    expect(stats.limitsReached).toBe(1)
  })

  it('remembers at most 256 kinds: one line says so, later new kinds are only counted', () => {
    const {limits, stats, logger} = setup()
    for (let i = 0; i < 300; i++) limits.fault('x', 'c', new Error(`kind ${i}`))
    expect(stats.internalErrors).toBe(300)
    const lines = logger.lines.filter((l) => l.includes('Internal error'))
    expect(lines).toHaveLength(257)
    expect(lines[256]).toContain('Internal errors of 256 kinds so far: further ones are only counted (internal-errors)')
    limits.fault('x', 'c', new Error('kind 0')) // a kind seen before: still silent
    expect(logger.lines.filter((l) => l.includes('Internal error'))).toHaveLength(257)
  })

  it('a huge error message is cut when it becomes a kind, so the table stays bounded in bytes', () => {
    const {limits, logger} = setup()
    const long = 'y'.repeat(10_000)
    limits.fault('x', 'c', new Error(long + 'A'))
    limits.fault('x', 'c', new Error(long + 'B')) // same first 300 characters: the same kind
    expect(logger.lines.filter((l) => l.includes('Internal error'))).toHaveLength(1)
  })
})

describe('Limits: memory ceiling and connection rate', () => {
  it('a ceiling below this process\'s memory makes it overloaded on the first sample, counted in the stats; stop() disarms', () => {
    const {limits, stats, clock} = setup({maxMemory: 1})
    limits.start()
    expect(limits.overloaded).toBe(false)
    clock.advance(SAMPLE_MS)
    expect([limits.overloaded, stats.overloaded, stats.overloadEpisodes]).toEqual([true, 1, 1])
    limits.stop()
    expect(clock.pending).toBe(0)
  })

  it('maxMemory 0 is no ceiling: nothing sampled', () => {
    const {limits, clock} = setup({maxMemory: 0})
    limits.start()
    expect(clock.pending).toBe(0)
    clock.advance(10 * SAMPLE_MS)
    expect(limits.overloaded).toBe(false)
  })

  it('connectRatePerAddress reaches the per-address limiter on the same clock', () => {
    const {limits, clock} = setup({connectRatePerAddress: 2})
    expect([limits.connectRate.take('10.0.0.1'), limits.connectRate.take('10.0.0.1'), limits.connectRate.take('10.0.0.1')]).toEqual([true, true, false])
    clock.advance(500)
    expect(limits.connectRate.take('10.0.0.1')).toBe(true)
  })
})
