/**
 * handlers/connect.ts over in-memory pairs: client id rules per version, keep alive bounds, wills,
 * the connection limit and take-over, resumed sessions. (The TCP conformance suite covers the same
 * ground end to end; these run in milliseconds and reach into the broker's state.)
 */
import type {IConnackPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {handleConnect} from '../../../src/broker/handlers/connect.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {closeAll} from '../../helpers/mqtt.js'
import {codeOf, rawConnect, mqttString} from '../../helpers/raw.js'
import {startWire} from '../../helpers/wire.js'

afterEach(closeAll)

describe('CONNECT handler', () => {
  it('is the function the dispatcher calls for CONNECT', () => {
    expect(typeof handleConnect).toBe('function')
  })

  it('client ids: 3.1 needs one of at most 23 characters; 3.1.1 without clean session needs one; MQTT 5 gets one assigned', async () => {
    const wire = await startWire()
    expect(codeOf(await wire.client({version: 3}).connect({clientId: 'x'.repeat(24)}))).toBe(2)
    const empty31 = wire.client({version: 3})
    empty31.send(rawConnect({name: 'MQIsdp', level: 3, payload: mqttString('')}))
    expect(codeOf(await empty31.next('connack'))).toBe(2)
    const persistentNoId = wire.client({version: 4})
    persistentNoId.send(rawConnect({flags: 0x00, payload: mqttString('')})) // clean session 0, no id
    expect(codeOf(await persistentNoId.next('connack'))).toBe(2)
    expect(codeOf(await wire.client({version: 4}).connect({clientId: '', clean: true}))).toBe(0)
    const v5 = (await wire.client({version: 5}).connect({clientId: ''})) as IConnackPacket
    const assigned = v5.properties?.assignedClientIdentifier
    expect(assigned).toMatch(/^mqttctl-/)
    expect(wire.broker.clients.has(assigned!)).toBe(true)
  })

  it('keep alive above limits.maxKeepAlive: MQTT 5 is told serverKeepAlive; 3.1.1 is refused with return code 2 and a log line that says why', async () => {
    const logger = memoryLogger('debug')
    const wire = await startWire({limits: {maxKeepAlive: 30}}, {logger})
    const v5 = (await wire.client({version: 5}).connect({clientId: 'a', keepalive: 120})) as IConnackPacket
    expect([v5.reasonCode, v5.properties?.serverKeepAlive]).toEqual([0, 30])
    expect(wire.broker.clients.get('a')!.keepAliveMs).toBe(45_000)
    expect(codeOf(await wire.client({version: 4}).connect({clientId: 'b', keepalive: 120}))).toBe(2)
    expect(logger.lines.some((l) => /keep alive 120 s is above the maximum of 30 s/.test(l))).toBe(true)
    expect(logger.lines.some((l) => /client identifier/i.test(l))).toBe(false)
  })

  it('wills: QoS 3 and a wildcard topic are refused (MQTT 5 0x81 / 0x90; 3.1.1 closes without CONNACK); a good one is kept with its own bytes', async () => {
    const wire = await startWire()
    // Connect flags 0x1e: will flag, will QoS 3, clean start.
    const bad = wire.client({version: 5})
    bad.send(rawConnect({level: 5, flags: 0x1e, payload: [...mqttString('w'), 0, ...mqttString('t'), ...mqttString('x')]}))
    expect(codeOf(await bad.next('connack'))).toBe(0x81)
    const wild = wire.client({version: 5})
    expect(codeOf(await wild.connect({clientId: 'w2', will: {topic: 'a/#', payload: Buffer.from('x'), qos: 0, retain: false}}))).toBe(0x90)
    const wild4 = wire.client({version: 4})
    wild4.sendPacket(wild4.connectPacket({clientId: 'w3', will: {topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false}}))
    await wild4.waitClosed()
    expect(wild4.received('connack')).toEqual([])
    const good = wire.client({version: 5})
    await good.connect({clientId: 'w4', will: {topic: 'gone', payload: Buffer.from('bye'), qos: 1, retain: true, properties: {willDelayInterval: 5}}})
    const will = wire.broker.clients.get('w4')!.will!
    expect([will.topic, will.payload.toString(), will.qos, will.retain, will.delay]).toEqual(['gone', 'bye', 1, true, 5])
    expect(will.payload.buffer.byteLength).toBe(3)
  })

  it('protocol checks: wrong name or level (3.1.1 return code 1), a 3.1.1 password without user name (closed), an MQTT 5 authentication method (0x8C)', async () => {
    const wire = await startWire()
    const badName = wire.client({version: 4})
    badName.send(rawConnect({name: 'MQIsdp', level: 4}))
    expect(codeOf(await badName.next('connack'))).toBe(1)
    const pw = wire.client({version: 4})
    pw.send(rawConnect({flags: 0x42, payload: [...mqttString('p'), ...mqttString('secret')]}))
    await pw.waitClosed()
    expect(pw.received('connack')).toEqual([])
    expect(codeOf(await wire.client({version: 5}).connect({clientId: 'am', properties: {authenticationMethod: 'SCRAM'}}))).toBe(0x8c)
  })

  it('connection limit: the next client is refused (MQTT 5 0x97, 3.1.1 return code 3); a take-over of a live id is not a new connection', async () => {
    const wire = await startWire({maxConnections: 1})
    const first = wire.client({version: 5})
    await first.connect({clientId: 'one'})
    expect(codeOf(await wire.client({version: 5}).connect({clientId: 'two'}))).toBe(0x97)
    expect(codeOf(await wire.client({version: 4}).connect({clientId: 'three'}))).toBe(3)
    expect(wire.broker.stats.connectionsRefused).toBe(2)
    expect(codeOf(await wire.client({version: 5}).connect({clientId: 'one'}))).toBe(0)
    expect(codeOf(await first.next('disconnect'))).toBe(0x8e)
    expect(wire.broker.clients.size).toBe(1)
  })

  it('a persistent session is resumed (session present) and its session expiry capped by limits.maxSessionExpiry (announced)', async () => {
    const wire = await startWire({limits: {maxSessionExpiry: 100}})
    const a = wire.client({version: 5})
    const first = (await a.connect({clientId: 'p', clean: false, properties: {sessionExpiryInterval: 1000}})) as IConnackPacket
    expect([first.sessionPresent, first.properties?.sessionExpiryInterval]).toEqual([false, 100])
    a.sendPacket({cmd: 'disconnect'})
    await a.waitClosed()
    const again = (await wire.client({version: 5}).connect({clientId: 'p', clean: false, properties: {sessionExpiryInterval: 50}})) as IConnackPacket
    expect(again.sessionPresent).toBe(true)
    expect(wire.broker.store.getSession('p')!.expiryInterval).toBe(50)
  })
})
