/** src/bench/hold.ts against a real broker on 127.0.0.1: held connections, their subscriptions, acked publishing, WebSocket. */
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import type net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type Held, hold, holdWs, publishAcked, subscribeHeld} from '../../src/bench/hold.js'
import {createBroker} from '../../src/broker/index.js'
import {silentLogger} from '../../src/broker/log.js'
import {DEFAULT_CONFIG} from '../../src/config/schema.js'
import {startBroker, type StartedBroker} from '../helpers/broker.js'

let b: StartedBroker
beforeAll(async () => {
  b = await startBroker({persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}})
})
afterAll(async () => b?.close())
const host = '127.0.0.1'

/** Resolves with the first chunk the socket receives that carries `topic` (a PUBLISH to it). */
function receives(s: net.Socket, topic: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const on = (d: Buffer) => {
      if (d.includes(Buffer.from(topic))) {
        s.off('data', on)
        resolve(d)
      }
    }
    s.on('data', on)
  })
}

describe('hold', () => {
  let held: Held

  it('opens N connections with k subscriptions each (CONNACK and SUBACK read), none closed', async () => {
    held = await hold({host, port: b.port, count: 25, subs: 3, prefix: 'h', concurrency: 4})
    expect(held.sockets).toHaveLength(25)
    expect(held.closedByBroker()).toBe(0)
    expect(held.sockets.every((s) => !s.destroyed)).toBe(true)
  })

  it('client i is subscribed to prefix/i/j: a message there reaches that socket', async () => {
    const got = receives(held.sockets[7], 'h/7/2')
    await publishAcked({host, port: b.port, clientId: 'pub-a', count: 1, payloadBytes: 10, topic: () => 'h/7/2'})
    const d = await got
    expect(d[0] & 0xf0).toBe(0x30)
  })

  it('subscribeHeld adds k more filters to every held connection', async () => {
    await subscribeHeld(held, 2, 'late', 1)
    const got = receives(held.sockets[24], 'late/24/1')
    await publishAcked({host, port: b.port, clientId: 'pub-b', count: 3, payloadBytes: 5, topic: () => 'late/24/1'})
    expect((await got)[0] & 0xf0).toBe(0x30)
  })

  it('a filter the broker refuses (SUBACK 0x80) fails subscribeHeld and hold instead of counting as subscribed', async () => {
    const few = await hold({host, port: b.port, count: 2, subs: 0, prefix: 'malformed'})
    try {
      await expect(subscribeHeld(few, 1, 'bad/#')).rejects.toThrow(/^client \d: SUBACK refused bad\/#\/\d\/0 \(return code 0x80\)$/)
    } finally {
      await few.close()
    }
    await expect(hold({host, port: b.port, count: 1, subs: 2, prefix: 'bad/#'})).rejects.toThrow('client 0: SUBACK refused bad/#/0/0 (return code 0x80)')
  })

  it('close sends DISCONNECT and every socket ends', async () => {
    await held.close()
    expect(held.sockets.every((s) => s.destroyed || s.closed)).toBe(true)
  })

  it('refused connections reject the whole hold with the CONNACK code, and the others are closed', async () => {
    const small = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0}], maxConnections: 3, persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await small.listen()
    try {
      await expect(hold({host, port: addr.port, count: 6, subs: 0, prefix: 'full', concurrency: 1})).rejects.toThrow(/^client 3: CONNACK return code \d+$/)
    } finally {
      await small.close()
    }
  })

  it('an aborted signal stops it before it connects anything', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(hold({host, port: b.port, count: 5, subs: 0, prefix: 'ab', signal: ac.signal})).rejects.toThrow('stopped: time limit reached while connecting')
  })

  it('a closed port rejects with the connection error', async () => {
    const dead = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0}]}, {logger: silentLogger})
    const [addr] = await dead.listen()
    await dead.close()
    await expect(hold({host, port: addr.port, count: 2, subs: 0, prefix: 'x'})).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('publishAcked', () => {
  it('resolves once every PUBACK is back; retained messages stay for a later subscriber', async () => {
    await publishAcked({host, port: b.port, clientId: 'ret', count: 50, payloadBytes: 20, retain: true, topic: (i) => `ret/${i}`})
    const late = await hold({host, port: b.port, count: 1, subs: 0, prefix: 'late-sub'})
    try {
      const got = receives(late.sockets[0], 'ret/42')
      late.sockets[0].write(Buffer.from([0x82, 0x0b, 0x00, 0x01, 0x00, 0x06, ...Buffer.from('ret/42'), 0x00]))
      const d = await got
      expect(d[0] & 0x01).toBe(1) // RETAIN flag on the delivery
    } finally {
      await late.close()
    }
  })

  it('a broker that closes the connection (a packet above its maximum) fails the publishing, not its 60 s timer', async () => {
    const strict = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0}], limits: {...DEFAULT_CONFIG.limits, maxPacketSize: 128}, persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await strict.listen()
    try {
      await expect(publishAcked({host, port: addr.port, clientId: 'big', count: 3, payloadBytes: 500, topic: () => 'big'})).rejects.toThrow(/^the broker closed the connection after 0 of 3 PUBACKs$|ECONNRESET/)
    } finally {
      await strict.close()
    }
  })

  it('refuses more than 60,000 messages (packet ids must stay unique)', async () => {
    await expect(publishAcked({host, port: b.port, clientId: 'many', count: 60_001, payloadBytes: 1, topic: () => 't'})).rejects.toThrow('publishAcked: 60001 messages; at most 60,000')
  })
})

describe('holdWs', () => {
  it('holds MQTT-over-WebSocket connections on a broker\'s WebSocket listener; a refused subscription is no held connection', async () => {
    const ws = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0, websocket: true}], persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await ws.listen()
    try {
      const h = await holdWs({host, port: addr.port, count: 6, subs: 2, prefix: 'w', concurrency: 3})
      expect(h.count).toBe(6)
      expect(h.closedByBroker()).toBe(0)
      await h.close()
      await expect(holdWs({host, port: addr.port, count: 1, subs: 1, prefix: 'bad/#'})).rejects.toThrow('client 0: SUBACK refused bad/#/0/0 (return code 0x80)')
    } finally {
      await ws.close()
    }
  })

  it('a refused WebSocket CONNACK rejects the hold instead of counting the connection as held', async () => {
    const ws = createBroker({...DEFAULT_CONFIG, maxConnections: 2, listeners: [{host, port: 0, websocket: true}], persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await ws.listen()
    try {
      await expect(holdWs({host, port: addr.port, count: 4, subs: 0, prefix: 'wfull', concurrency: 1})).rejects.toThrow(/^WebSocket client 2: (CONNACK return code \d+|connection closed before CONNACK)$/)
    } finally {
      await ws.close()
    }
  })

  it('a path the listener does not serve rejects', async () => {
    const ws = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0, websocket: true}], persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await ws.listen()
    try {
      await expect(holdWs({host, port: addr.port, count: 1, subs: 0, prefix: 'w', path: '/elsewhere'})).rejects.toThrow()
    } finally {
      await ws.close()
    }
  })
})

describe('hold over TLS', () => {
  it('holds subscribed connections on a TLS listener (a throwaway self-signed certificate, not verified)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttctl-holdtls-'))
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    const secure = createBroker({...DEFAULT_CONFIG, listeners: [{host, port: 0, tls: {cert, key}}], persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}}, {logger: silentLogger})
    const [addr] = await secure.listen()
    try {
      const h = await hold({host, port: addr.port, count: 8, subs: 2, prefix: 't', tls: true, concurrency: 4})
      expect(h.sockets).toHaveLength(8)
      expect(h.sockets.every((s) => 'encrypted' in s && s.encrypted)).toBe(true)
      expect(h.closedByBroker()).toBe(0)
      await h.close()
      // Plain MQTT on the TLS port: the broker closes it; the hold fails then, not at its 30 s timer (within this test's 30 s).
      await expect(hold({host, port: addr.port, count: 1, subs: 0, prefix: 'plain'})).rejects.toThrow(/^client 0: connection closed before CONNACK$|ECONNRESET/)
    } finally {
      await secure.close()
    }
  }, 30_000)
})
