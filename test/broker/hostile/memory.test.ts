/**
 * Issue 11: memory a few clients could make the broker hold. A payload is held once however many
 * subscribers it goes to (only the header with the packet id differs), per-client bytes stop at
 * limits.maxQueuedBytes, and a slow consumer costs drops (counted), not memory or others' messages.
 * Memory is read as process.memoryUsage().arrayBuffers (Buffers), in this process: the broker's
 * copies; the stalled clients read nothing, so their side adds nothing. The slow-consumer test reads
 * the broker's unsent bytes for that client instead.
 */
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {connected, hostileBroker, publishes, subscribed} from './helpers.js'

afterEach(closeAll)

const MB = 1024 * 1024
const buffers = (): number => process.memoryUsage().arrayBuffers

describe('hostile memory', () => {
  it('20 subscribers that stop reading and one 8 MB QoS 1 publish hold the payload once, not 20 times', async () => {
    const h = await hostileBroker()
    const subs = await Promise.all(Array.from({length: 20}, () => subscribed(h.port, 4, 'big', 1)))
    for (const s of subs) s.socket.pause()
    const pub = await connected(h.port, 4)
    const before = buffers()
    pub.sendPacket({cmd: 'publish', topic: 'big', payload: Buffer.alloc(8 * MB, 1), qos: 1, messageId: 1, retain: false, dup: false})
    await pub.next('puback', 15_000)
    await waitFor(() => h.broker.stats.messagesSent >= 20, 15_000, 'sent to all 20')
    // Before: a copy of the encoded packet per subscriber, 160 MB. Now: the publisher's frame, the
    // broker's one copy and slack for the socket buffers' bookkeeping.
    expect(buffers() - before).toBeLessThan(48 * MB)
  })

  it('one client in 200 shared-subscription groups and one 1 MB QoS 1 publish: bounded by its byte limit', async () => {
    const h = await hostileBroker()
    const c = await connected(h.port, 5)
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: Array.from({length: 200}, (_, i) => ({topic: `$share/g${i}/t`, qos: 1 as const}))})
    await c.next('suback')
    c.socket.pause()
    const pub = await connected(h.port, 5)
    const before = buffers()
    pub.sendPacket({cmd: 'publish', topic: 't', payload: Buffer.alloc(MB, 2), qos: 1, messageId: 1, retain: false, dup: false})
    await pub.next('puback', 15_000)
    await waitFor(() => h.broker.stats.messagesSent + h.broker.stats.messagesDropped + h.broker.stats.messagesQueued >= 200, 15_000, '200 deliveries decided')
    expect(buffers() - before).toBeLessThan(24 * MB)
  })

  it('a flooded slow consumer: drops are counted, memory stays under its bound, a fast subscriber gets every message', async () => {
    const h = await hostileBroker({limits: {maxQueuedBytes: 1 * MB}})
    const slow = await subscribed(h.port, 4, 'flood', 0, {clientId: 'slow'})
    slow.socket.pause()
    const fast = await subscribed(h.port, 4, 'flood', 0)
    const pub = await connected(h.port, 4)
    const payload = Buffer.alloc(8 * 1024, 3)
    const n = 2000 // 16 MB towards the slow consumer, past what the kernel's socket buffers absorb
    for (let i = 0; i < n; i++) pub.sendPacket({cmd: 'publish', topic: 'flood', payload, qos: 0, retain: false, dup: false})
    await waitFor(() => publishes(fast).length === n, 30_000, `${n} messages at the fast subscriber`)
    expect(h.broker.stats.messagesDropped).toBeGreaterThan(0)
    // What the broker holds for the slow client: within maxQueuedBytes plus one message. (Read from the
    // connection, not process memory: the fast RawClient's own buffers make that figure noisy.)
    const conn = (h.broker as unknown as BrokerImpl).clients.get('slow')!
    expect(conn.pendingBytes).toBeLessThanOrEqual(1 * MB + payload.length + 16)
  })
})
