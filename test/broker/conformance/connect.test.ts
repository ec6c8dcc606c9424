/**
 * CONNECT handling over real TCP: protocol name and level, reserved flag, CONNECT-first and
 * CONNECT-once rules, connect timeout, client identifier rules, username/password and will flags.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, connect, connackOf, VERSION_NAME, VERSIONS, type Version} from '../../helpers/mqtt.js'
import {codeOf, frame, mqttString, RawClient, rawConnect} from '../../helpers/raw.js'
import {startSharedTarget, startTarget, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

/** A raw client that has sent `bytes` as its first packet. */
async function rawWith(bytes: Buffer, version: Version = 4): Promise<RawClient> {
  const raw = await RawClient.open(target.port, {version})
  raw.send(bytes)
  return raw
}

function noSuccessfulConnack(raw: RawClient): void {
  for (const connack of raw.received('connack')) expect(codeOf(connack), raw.describe()).not.toBe(0)
}

describe('CONNECT accepted', () => {
  it.each(VERSIONS)('MQTT.js protocolVersion %i connects with CONNACK 0', async (version) => {
    const client = await connect(target.url, {version})
    expect(client.connected).toBe(true)
    expect(connackOf(client).returnCode ?? connackOf(client).reasonCode).toBe(0)
  })

  it('PINGREQ gets PINGRESP (3.1.1) [MQTT-3.12.4-1]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    await raw.ping()
    await raw.ping()
    expect(raw.received('pingresp')).toHaveLength(2)
  })
})

describe('protocol name and level', () => {
  it('an unsupported protocol level gets CONNACK 0x01 (3.1.1 form) or 0x84 (5.0 form), then close [MQTT-3.1.2-2]', async () => {
    const raw = await rawWith(rawConnect({level: 6}))
    await raw.waitClosed()
    // Look at bytes: the 3.1.1 form is 20 02 00 01, the 5.0 form is 20 03+ 00 84 ...
    expect(raw.bytes[0], raw.describe()).toBe(0x20)
    const [, length, , code] = raw.bytes
    if (length === 2) expect(code).toBe(0x01)
    else expect(code).toBe(0x84)
  })

  it('protocol level 4 under the MQTT 3.1 name "MQIsdp" is refused (no CONNACK 0) and closed', async () => {
    const raw = await rawWith(rawConnect({name: 'MQIsdp', level: 4}))
    await raw.waitClosed()
    expect(raw.bytes.length === 0 || raw.bytes[3] !== 0, raw.describe()).toBe(true)
  })

  it('an unknown protocol name closes without CONNACK 0 [MQTT-3.1.2-1]', async () => {
    const raw = await rawWith(rawConnect({name: 'MQTX'}))
    await raw.waitClosed()
    expect(raw.bytes.length === 0 || raw.bytes[3] !== 0, raw.describe()).toBe(true)
  })

  it.each([4, 5] as const)('v%i: the reserved connect flag set closes the connection [MQTT-3.1.2-3]', async (level) => {
    const raw = await rawWith(rawConnect({level, flags: 0x03}), level)
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })
})

describe('CONNECT must be first and only once', () => {
  it('PUBLISH before CONNECT closes the connection without any reply [MQTT-3.1.0-1]', async () => {
    const raw = await rawWith(frame(0x30, [...mqttString('a/b'), 0x68, 0x69]))
    await raw.waitClosed()
    expect(raw.packets, raw.describe()).toHaveLength(0)
  })

  it('PINGREQ before CONNECT closes the connection [MQTT-3.1.0-1]', async () => {
    const raw = await rawWith(Buffer.from([0xc0, 0x00]))
    await raw.waitClosed()
    expect(raw.received('pingresp')).toHaveLength(0)
  })

  it.each([3, 4, 5] as const)('v%i: a second CONNECT closes the connection [MQTT-3.1.0-2]', async (version) => {
    const raw = await RawClient.open(target.port, {version})
    expect(codeOf(await raw.connect())).toBe(0)
    raw.sendPacket(raw.connectPacket())
    await raw.waitClosed()
    expect(raw.received('connack'), raw.describe()).toHaveLength(1)
    // MQTT 5 lets the server say why first: 0x82 Protocol Error.
    for (const disconnect of raw.received('disconnect')) expect(codeOf(disconnect)).toBe(0x82)
  })

  it('other clients carry on after a protocol violation', async () => {
    const bystander = await connect(target.url)
    const raw = await rawWith(Buffer.from([0xc0, 0x00]))
    await raw.waitClosed()
    await bystander.publishAsync('bystander/after', 'still here', {qos: 1})
    expect(bystander.connected).toBe(true)
  })
})

describe('connect timeout', () => {
  it('a socket that never sends CONNECT is closed (limits.connectTimeout = 1)', async () => {
    const own = await startTarget({limits: {connectTimeout: 1}})
    const silent = await RawClient.open(own.port)
    await own.elapse(500)
    expect(silent.isClosed).toBe(false)
    await own.elapse(1600) // the deadline wheel counts in whole seconds
    await silent.waitClosed()
    expect(silent.packets).toHaveLength(0)
  })

  it('a socket that sends half a CONNECT and stops is closed (limits.connectTimeout = 1)', async () => {
    const own = await startTarget({limits: {connectTimeout: 1}})
    const partial = await RawClient.open(own.port)
    partial.send(rawConnect({}).subarray(0, 6))
    await own.elapse(2100)
    await partial.waitClosed()
    expect(partial.received('connack')).toHaveLength(0)
  })

  it('a client that CONNECTs in time is not closed by the connect timeout', async () => {
    const own = await startTarget({limits: {connectTimeout: 1}})
    const raw = await RawClient.open(own.port)
    await raw.connect({keepalive: 0})
    const early = await RawClient.open(own.port)
    // The silent socket opened after ours is closed by the connect timeout; ours must still answer.
    await own.elapse(2100)
    await early.waitClosed()
    await raw.ping()
    expect(raw.isClosed).toBe(false)
  })
})

describe('client identifier', () => {
  it.each([4, 5] as const)('v%i: a zero-length client id with clean start is accepted [MQTT-3.1.3-6]', async (version) => {
    const raw = await RawClient.open(target.port, {version})
    const connack = await raw.connect({clientId: '', clean: true})
    expect(codeOf(connack)).toBe(0)
    await raw.ping()
  })

  it('v5: a zero-length client id gets a unique Assigned Client Identifier in CONNACK [MQTT-3.2.2-16]', async () => {
    const a = await RawClient.open(target.port, {version: 5})
    const b = await RawClient.open(target.port, {version: 5})
    const ackA = await a.connect({clientId: ''})
    const ackB = await b.connect({clientId: ''})
    const idA = ackA.properties?.assignedClientIdentifier
    const idB = ackB.properties?.assignedClientIdentifier
    expect(idA, 'assignedClientIdentifier').toMatch(/.+/)
    expect(idB, 'assignedClientIdentifier').toMatch(/.+/)
    expect(idA).not.toBe(idB)
  })

  it('v5: MQTT.js with an empty clientId learns the assigned id', async () => {
    const client = await connect(target.url, {version: 5, clientId: ''})
    expect(connackOf(client).properties?.assignedClientIdentifier).toMatch(/.+/)
  })

  it('3.1.1: a zero-length client id with cleanSession=0 gets CONNACK 0x02 then close [MQTT-3.1.3-8]', async () => {
    // Hand-built: mqtt-packet refuses to generate this CONNECT.
    const raw = await rawWith(rawConnect({flags: 0x00, payload: mqttString('')}))
    expect(codeOf(await raw.next('connack'))).toBe(0x02)
    await raw.waitClosed()
  })

  it('3.1: a zero-length client id is rejected with CONNACK 0x02 (3.1 requires 1-23 characters)', async () => {
    const raw = await rawWith(rawConnect({name: 'MQIsdp', level: 3, flags: 0x02, payload: mqttString('')}), 3)
    expect(codeOf(await raw.next('connack'))).toBe(0x02)
    await raw.waitClosed()
  })

  it('3.1.1: a client id of every allowed character class is accepted [MQTT-3.1.3-5]', async () => {
    const raw = await RawClient.open(target.port)
    const connack = await raw.connect({clientId: '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'})
    expect(codeOf(connack)).toBe(0)
  })
})

describe('username and password flags', () => {
  // flags 0x42: password + clean session, no username flag. Payload: client id, password.
  const passwordOnly = (level: number) =>
    rawConnect({level, flags: 0x42, payload: [...mqttString('pw-only'), ...mqttString('secret')]})

  it('3.1.1: password flag without username flag closes the connection [MQTT-3.1.2-22]', async () => {
    const raw = await rawWith(passwordOnly(4))
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })

  it('5.0: password without username is allowed (CONNACK 0)', async () => {
    const raw = await rawWith(passwordOnly(5), 5)
    expect(codeOf(await raw.next('connack'))).toBe(0)
  })

  it('username and password are accepted when both flags are set (anonymous broker)', async () => {
    const client = await connect(target.url, {username: 'u', password: 'p'})
    expect(client.connected).toBe(true)
  })

  it('username flag set but the payload ends before the username: closed (malformed)', async () => {
    const raw = await rawWith(rawConnect({flags: 0x82, payload: mqttString('no-user')}))
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })
})

describe('will flags', () => {
  const willPayload = (level: number, id: string) => [
    ...mqttString(id),
    ...(level === 5 ? [0] : []), // MQTT 5: empty will properties
    ...mqttString('will/topic'),
    ...mqttString('bye'),
  ]

  it.each([4, 5] as const)('v%i: will QoS 3 closes the connection [MQTT-3.1.2-14]', async (level) => {
    // 0x1e = will QoS bits 11 + will flag + clean
    const raw = await rawWith(rawConnect({level, flags: 0x1e, payload: willPayload(level, 'wq3')}), level)
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })

  it('3.1.1: will QoS set without the will flag closes the connection [MQTT-3.1.2-13]', async () => {
    const raw = await rawWith(rawConnect({flags: 0x0a, payload: mqttString('wq-noflag')}))
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })

  it('3.1.1: will retain set without the will flag closes the connection [MQTT-3.1.2-15]', async () => {
    const raw = await rawWith(rawConnect({flags: 0x22, payload: mqttString('wr-noflag')}))
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })

  it('3.1.1: a will topic with a wildcard closes the connection [MQTT-3.1.3-11]', async () => {
    const raw = await rawWith(rawConnect({flags: 0x06, payload: [...mqttString('w-wild'), ...mqttString('will/#'), ...mqttString('x')]}))
    await raw.waitClosed()
    noSuccessfulConnack(raw)
  })

  it.each(VERSIONS)('%i: a valid will is accepted', async (version) => {
    const client = await connect(target.url, {version, will: {topic: 'will/ok', payload: Buffer.from('bye'), qos: 1, retain: false}})
    expect(client.connected, VERSION_NAME[version]).toBe(true)
  })
})
