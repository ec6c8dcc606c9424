/** src/broker/clients.ts: the client registry, the connection limit and its once-a-second log line. */
import {describe, expect, it} from 'vitest'
import {Clients} from '../../src/broker/clients.js'
import type {Connection} from '../../src/broker/connection.js'
import {memoryLogger} from '../../src/broker/log.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {ManualClock} from '../helpers/clock.js'

const conn = (clientId: string): Connection => ({clientId}) as Connection

describe('Clients', () => {
  it('adds, replaces on take-over, and removes only the connection that holds the id', () => {
    const stats = new BrokerStats()
    const clients = new Clients({stats, clock: new ManualClock(), logger: memoryLogger(), maxConnections: 10})
    const a1 = conn('a')
    const a2 = conn('a')
    clients.add(a1)
    clients.add(conn('b'))
    expect([clients.size, stats.connectionsLive, stats.connectionsTotal]).toEqual([2, 2, 2])
    clients.add(a2) // take-over: same id, the newcomer holds it
    expect(clients.get('a')).toBe(a2)
    expect(clients.remove(a1)).toBe(false) // the old one leaving does not remove the new one
    expect(clients.has('a')).toBe(true)
    expect(clients.remove(a2)).toBe(true)
    expect([clients.size, stats.connectionsLive, stats.connectionsPeak]).toEqual([1, 1, 2])
  })

  it('full at maxConnections; refusals are counted and logged at most once a second', () => {
    const stats = new BrokerStats()
    const clock = new ManualClock(5_000)
    const logger = memoryLogger('warn')
    const clients = new Clients({stats, clock, logger, maxConnections: 1})
    expect(clients.full).toBe(false)
    clients.add(conn('x'))
    expect(clients.full).toBe(true)
    for (let i = 0; i < 5; i++) clients.refusedForLimit()
    clock.advance(999)
    clients.refusedForLimit()
    clock.advance(1)
    clients.refusedForLimit()
    expect(stats.connectionsRefused).toBe(7)
    expect(logger.lines).toHaveLength(2)
    expect(logger.lines[1]).toMatch(/Connection limit reached: 1 \/ 1 \(6 refused\)/)
  })
})
