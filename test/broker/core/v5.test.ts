import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {closeAll, collect, connect, trackClient} from '../../helpers/mqtt.js'
import {ManualClock} from '../../helpers/clock.js'
import {RawClient} from '../../helpers/raw.js'

let broker: StartedBroker | undefined
const raws: RawClient[] = []

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await closeAll()
  await broker?.close()
  broker = undefined
})

const v5 = {protocolVersion: 5 as const}

describe('MQTT 5 features', () => {
  it('overlapping subscriptions: one copy at the highest QoS with every subscription identifier', async () => {
    broker = await startBroker()
    const sub = await connect(broker.url, {...v5, clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('o/+', {qos: 0, properties: {subscriptionIdentifier: 1}})
    await sub.subscribeAsync('o/#', {qos: 1, properties: {subscriptionIdentifier: 2}})
    const pub = await connect(broker.url, {...v5, clientId: 'p'})
    await pub.publishAsync('o/x', 'one', {qos: 2})
    await pub.publishAsync('o/y', 'two', {qos: 0})
    const msgs = await got.waitCount(2)
    expect(msgs[0].packet.qos).toBe(1)
    expect([...(msgs[0].packet.properties?.subscriptionIdentifier as number[])].sort()).toEqual([1, 2])
    expect(String(msgs[1].payload)).toBe('two')
  })

  it('3.1.1 overlapping subscriptions deliver one copy at the highest matching QoS', async () => {
    broker = await startBroker()
    const sub = await connect(broker.url, {clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync({'o/+': {qos: 1}, '#': {qos: 0}})
    const pub = await connect(broker.url, {clientId: 'p'})
    await pub.publishAsync('o/x', 'one', {qos: 2})
    await pub.publishAsync('end', 'end', {qos: 0})
    const msgs = await got.waitCount(2)
    expect(msgs.map((m) => [m.topic, m.packet.qos])).toEqual([
      ['o/x', 1],
      ['end', 0],
    ])
  })

  it('passes properties through unchanged and counts message expiry down', async () => {
    broker = await startBroker()
    const sub = await connect(broker.url, {...v5, clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('p', {qos: 1})
    const pub = await connect(broker.url, {...v5, clientId: 'p'})
    const properties = {
      userProperties: {a: '1', b: ['2', '3']},
      contentType: 'text/plain',
      payloadFormatIndicator: true,
      responseTopic: 'reply/here',
      correlationData: Buffer.from('corr'),
      messageExpiryInterval: 60,
    }
    await pub.publishAsync('p', 'hello', {qos: 1, properties})
    const [m] = await got.waitCount(1)
    const p = m.packet.properties!
    expect(p.userProperties).toEqual({a: '1', b: ['2', '3']})
    expect([p.contentType, p.payloadFormatIndicator, p.responseTopic, p.correlationData?.toString()]).toEqual(['text/plain', true, 'reply/here', 'corr'])
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(60)
    expect(p.messageExpiryInterval).toBeGreaterThan(0)
  })

  it('no local: a client does not get its own messages', async () => {
    broker = await startBroker()
    const c = await connect(broker.url, {...v5, clientId: 'self'})
    const other = await connect(broker.url, {...v5, clientId: 'other'})
    const got = collect(c)
    await c.subscribeAsync('nl/#', {qos: 0, nl: true})
    await c.publishAsync('nl/a', 'mine', {qos: 1})
    await other.publishAsync('nl/a', 'theirs', {qos: 1})
    const [m] = await got.waitCount(1)
    expect(String(m.payload)).toBe('theirs')
  })

  it('shared subscriptions spread messages across the group', async () => {
    broker = await startBroker()
    const a = await connect(broker.url, {...v5, clientId: 'a'})
    const b = await connect(broker.url, {...v5, clientId: 'b'})
    const ga = collect(a)
    const gb = collect(b)
    await a.subscribeAsync('$share/g/job/+', {qos: 1})
    await b.subscribeAsync('$share/g/job/+', {qos: 1})
    const pub = await connect(broker.url, {...v5, clientId: 'p'})
    for (let i = 0; i < 4; i++) await pub.publishAsync(`job/${i}`, String(i), {qos: 1})
    await ga.waitCount(2)
    await gb.waitCount(2)
    expect(ga.messages.length + gb.messages.length).toBe(4)
  })

  it('a QoS 1 message of a shared member that leaves unacknowledged goes to another member', async () => {
    broker = await startBroker()
    const a = await RawClient.open(broker.port, {version: 5})
    raws.push(a)
    await a.connect({clientId: 'a'})
    a.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/w', qos: 1}]})
    await a.next('suback')
    const pub = await connect(broker.url, {...v5, clientId: 'p'})
    await pub.publishAsync('w', 'work', {qos: 1})
    await a.next('publish') // never acknowledged
    const b = await connect(broker.url, {...v5, clientId: 'b'})
    const gb = collect(b)
    await b.subscribeAsync('$share/g/w', {qos: 1})
    a.destroy()
    const [m] = await gb.waitCount(1)
    expect(String(m.payload)).toBe('work')
  })

  it('accepts topic aliases from clients up to the announced maximum', async () => {
    broker = await startBroker({limits: {topicAliasMaximum: 5}})
    const sub = await connect(broker.url, {...v5, clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('alias/t')
    const c = await RawClient.open(broker.port, {version: 5})
    raws.push(c)
    const ack = await c.connect({clientId: 'aliaser'})
    expect((ack as {properties?: {topicAliasMaximum?: number}}).properties?.topicAliasMaximum).toBe(5)
    c.sendPacket({cmd: 'publish', topic: 'alias/t', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: {topicAlias: 3}})
    c.sendPacket({cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: {topicAlias: 3}})
    const msgs = await got.waitCount(2)
    expect(msgs.map((m) => [m.topic, String(m.payload)])).toEqual([
      ['alias/t', '1'],
      ['alias/t', '2'],
    ])
    c.sendPacket({cmd: 'publish', topic: 'x', payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: {topicAlias: 6}})
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x94)
  })

  it('uses topic aliases towards a client that allows them', async () => {
    broker = await startBroker()
    const c = await RawClient.open(broker.port, {version: 5})
    raws.push(c)
    await c.connect({clientId: 'takes-aliases', properties: {topicAliasMaximum: 2}})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'al', qos: 0}]})
    await c.next('suback')
    broker.broker.publish('al', 'one')
    broker.broker.publish('al', 'two')
    const first = (await c.next('publish')) as {topic: string; properties?: {topicAlias?: number}}
    const second = (await c.next('publish')) as {topic: string; properties?: {topicAlias?: number}}
    expect([first.topic, first.properties?.topicAlias]).toEqual(['al', 1])
    expect([second.topic, second.properties?.topicAlias]).toEqual(['', 1])
  })

  it('receive maximum towards the client: at most that many QoS 1 in flight, the rest follow acks', async () => {
    broker = await startBroker()
    const c = await RawClient.open(broker.port, {version: 5})
    raws.push(c)
    await c.connect({clientId: 'slow', properties: {receiveMaximum: 1}})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'rm', qos: 1}]})
    await c.next('suback')
    broker.broker.publish('rm', 'a', {qos: 1})
    broker.broker.publish('rm', 'b', {qos: 1})
    const first = (await c.next('publish')) as {messageId: number; payload: Buffer}
    c.sendPacket({cmd: 'pingreq'})
    await c.next('pingresp')
    expect(c.unread().filter((p) => p.cmd === 'publish')).toHaveLength(0)
    expect(broker.broker.stats.messagesQueued).toBe(1)
    c.sendPacket({cmd: 'puback', messageId: first.messageId})
    const second = (await c.next('publish')) as {payload: Buffer}
    expect(second.payload.toString()).toBe('b')
  })

  it('message expiry: a queued message that expires is dropped', async () => {
    const clock = new ManualClock()
    broker = await startBroker({}, {clock})
    const a = await connect(broker.url, {...v5, clientId: 'exp', clean: false, properties: {sessionExpiryInterval: 60}})
    await a.subscribeAsync('e', {qos: 1})
    await a.endAsync()
    const pub = await connect(broker.url, {...v5, clientId: 'p'})
    await pub.publishAsync('e', 'short', {qos: 1, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync('e', 'long', {qos: 1})
    clock.advance(1100)
    const b = trackClient(mqtt.connect(broker.url, {...v5, clientId: 'exp', clean: false, reconnectPeriod: 0, properties: {sessionExpiryInterval: 60}}))
    const got = collect(b)
    const [m] = await got.waitCount(1)
    expect(String(m.payload)).toBe('long')
    expect(broker.broker.stats.messagesExpired).toBe(1)
  })

  it('$-topics are not matched by a leading wildcard; QoS is downgraded to the subscription', async () => {
    broker = await startBroker()
    const sub = await connect(broker.url, {clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('#', {qos: 0})
    broker.broker.publish('$SYS/broker/uptime', '1')
    const pub = await connect(broker.url, {clientId: 'p'})
    await pub.publishAsync('plain', 'x', {qos: 2})
    const [m] = await got.waitCount(1)
    expect([m.topic, m.packet.qos]).toEqual(['plain', 0])
  })
})
