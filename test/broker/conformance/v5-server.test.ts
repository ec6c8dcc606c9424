/**
 * MQTT 5 server behaviour: enhanced authentication when none is configured (CONNACK 0x8C, AUTH is a
 * protocol error), server-sent DISCONNECT reason codes, and what CONNACK announces.
 */
import type {IConnackPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, connect, waitClose} from '../../helpers/mqtt.js'
import {codeOf, frame, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, startTarget, TARGET, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

describe('enhanced authentication not configured', () => {
  it('CONNECT with an Authentication Method gets CONNACK 0x8C Bad authentication method, then close', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    const connack = await raw.connect({properties: {authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('client-first')}})
    expect(codeOf(connack)).toBe(0x8c)
    await raw.waitClosed()
  })

  it('MQTT.js sees the refusal as a connection error', async () => {
    await expect(connect(target.url, {version: 5, properties: {authenticationMethod: 'KERBEROS'}})).rejects.toThrow()
  })

  it('an AUTH packet from a client that used no Authentication Method closes the connection (0x82) [MQTT-3.15 / 4.12]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    expect(codeOf(await raw.connect())).toBe(0)
    raw.sendPacket({cmd: 'auth', reasonCode: 0x19, properties: {authenticationMethod: 'SCRAM-SHA-1'}})
    await raw.waitClosed()
    const disconnect = raw.received('disconnect')[0]
    // Our broker always says why; Mosquitto may just close.
    if (TARGET === 'mqttctl') expect(codeOf(disconnect)).toBe(0x82)
    else if (disconnect) expect(codeOf(disconnect)).toBe(0x82)
  })

  it('CONNACK carries no Authentication Method when the client sent none [MQTT-3.1.2-30]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    const connack: IConnackPacket = await raw.connect()
    expect(connack.properties?.authenticationMethod).toBeUndefined()
  })

  it('3.1.1: an AUTH packet type (15) is a protocol error: closed', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0xf0, []))
    await raw.waitClosed()
  })
})

describe('server-sent DISCONNECT', () => {
  it('broker.close() sends MQTT 5 clients DISCONNECT 0x8B Server shutting down, then closes', async () => {
    const own = await startTarget()
    const raw = await RawClient.open(own.port, {version: 5})
    await raw.connect()
    const v4 = await RawClient.open(own.port)
    await v4.connect()
    await own.close()
    await raw.waitClosed()
    await v4.waitClosed()
    expect(codeOf(raw.received('disconnect')[0]), raw.describe()).toBe(0x8b)
    expect(v4.received('disconnect'), '3.1.1 has no server DISCONNECT').toHaveLength(0)
  })

  it('MQTT.js 5 sees the 0x8B DISCONNECT', async () => {
    const own = await startTarget()
    const client = await connect(own.url, {version: 5})
    const disconnects: number[] = []
    client.on('disconnect', (packet) => disconnects.push(packet.reasonCode ?? 0))
    const closed = waitClose(client)
    await own.close()
    await closed
    expect(disconnects).toEqual([0x8b])
  })

  it('a malformed packet from an MQTT 5 client: DISCONNECT 0x81 (if sent) and close [MQTT-4.13.1-1]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    raw.send([0x30, 0x03, 0x00, 0x09, 0x61]) // topic length 9 but only 1 byte left in the packet
    await raw.waitClosed()
    const disconnect = raw.received('disconnect')[0]
    if (TARGET === 'mqttctl') expect(codeOf(disconnect)).toBe(0x81)
    else if (disconnect) expect(codeOf(disconnect)).toBe(0x81)
  })
})

describe('CONNACK properties', () => {
  it('announces what the broker supports (QoS 2, retain, wildcards, subscription ids, shared subscriptions)', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    const connack: IConnackPacket = await raw.connect()
    const p = connack.properties ?? {}
    // Absent means "supported" / "2" for each of these [MQTT-3.2.2-9] etc.
    expect(p.maximumQoS ?? 2).toBe(2)
    expect(p.retainAvailable ?? true).toBe(true)
    expect(p.wildcardSubscriptionAvailable ?? true).toBe(true)
    expect(p.subscriptionIdentifiersAvailable ?? true).toBe(true)
    expect(p.sharedSubscriptionAvailable ?? true).toBe(true)
  })
})
