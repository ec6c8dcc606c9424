import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {closeAll, collect, connect, nextEvent, trackClient} from '../../helpers/mqtt.js'

let broker: StartedBroker | undefined

afterEach(async () => {
  await closeAll()
  await broker?.close()
  broker = undefined
})

describe('sessions', () => {
  it('keeps a persistent 3.1.1 session: session present, QoS 1 queued while offline', async () => {
    broker = await startBroker()
    const a = await connect(broker.url, {clientId: 'persist', clean: false})
    await a.subscribeAsync('s/t', {qos: 1})
    await a.endAsync()
    expect(broker.broker.stats.sessionsOrphan).toBe(1)
    const pub = await connect(broker.url, {clientId: 'p'})
    await pub.publishAsync('s/t', 'while-away', {qos: 1})
    expect(broker.broker.stats.messagesQueued).toBe(1)
    const b = trackClient((await import('mqtt')).default.connect(broker.url, {clientId: 'persist', clean: false, reconnectPeriod: 0}))
    const got = collect(b)
    const connack = (await nextEvent(b, 'connect'))[0] as {sessionPresent: boolean}
    expect(connack.sessionPresent).toBe(true)
    const [m] = await got.waitCount(1)
    expect(String(m.payload)).toBe('while-away')
    expect(broker.broker.stats.messagesQueued).toBe(0)
  })

  it('clean session discards the old session', async () => {
    broker = await startBroker()
    const a = await connect(broker.url, {clientId: 'c1', clean: false})
    await a.subscribeAsync('x', {qos: 1})
    await a.endAsync()
    const b = trackClient((await import('mqtt')).default.connect(broker.url, {clientId: 'c1', clean: true, reconnectPeriod: 0}))
    const connack = (await nextEvent(b, 'connect'))[0] as {sessionPresent: boolean}
    expect(connack.sessionPresent).toBe(false)
    expect(broker.broker.stats.subscriptions).toBe(0)
  })

  it('take-over: a second connection with the same id disconnects the first with 0x8E (v5)', async () => {
    broker = await startBroker()
    const first = await connect(broker.url, {clientId: 'same', protocolVersion: 5})
    const disconnected = nextEvent<[{reasonCode: number}]>(first, 'disconnect')
    await connect(broker.url, {clientId: 'same', protocolVersion: 5})
    expect((await disconnected)[0].reasonCode).toBe(0x8e)
    expect(broker.broker.clientCount()).toBe(1)
  })

  it('assigns a client id to an empty one (v5 returns it)', async () => {
    broker = await startBroker()
    const c = trackClient((await import('mqtt')).default.connect(broker.url, {clientId: '', protocolVersion: 5, reconnectPeriod: 0}))
    const connack = (await nextEvent(c, 'connect'))[0] as {properties?: {assignedClientIdentifier?: string}}
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^mqttctl-/)
  })

  it('re-delivers an unacknowledged QoS 1 message with DUP when the session resumes', async () => {
    broker = await startBroker()
    const mqtt = (await import('mqtt')).default
    const a = await connect(broker.url, {clientId: 'dup', clean: false})
    await a.subscribeAsync('d', {qos: 1})
    // Swallow the PUBACK: the client "crashes" before acknowledging.
    ;(a as unknown as {handleMessage: unknown}).handleMessage = () => {}
    const firstArrived = new Promise<void>((r) => a.once('packetreceive', (p) => p.cmd === 'publish' && r()))
    a.on('packetreceive', () => {})
    const pub = await connect(broker.url, {clientId: 'p2'})
    await pub.publishAsync('d', 'again', {qos: 1})
    await firstArrived
    a.stream.destroy()
    await nextEvent(a, 'close')
    const b = trackClient(mqtt.connect(broker.url, {clientId: 'dup', clean: false, reconnectPeriod: 0}))
    const got = collect(b)
    const [m] = await got.waitCount(1)
    expect(String(m.payload)).toBe('again')
    expect(m.packet.dup).toBe(true)
  })
})
