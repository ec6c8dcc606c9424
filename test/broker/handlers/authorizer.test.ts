/**
 * The authorizer seam at CONNECT (sync and async authenticate; nothing is read meanwhile; a close
 * meanwhile drops the answer), PUBLISH (canPublish), SUBSCRIBE (canSubscribe), delivery (canRead) and
 * take-over (canTakeOver). Socket-free, with a FakeAuthorizer.
 */
import type {IConnackPacket, IPubackPacket, ISubackPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {AuthOutcome} from '../../../src/broker/auth/authorizer.js'
import {ConnState} from '../../../src/broker/conn-state.js'
import {deferred, FakeAuthorizer} from '../../helpers/fakes.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {encode} from '../../helpers/raw.js'
import {startWire} from '../../helpers/wire.js'

afterEach(closeAll)

describe('authorizer: CONNECT', () => {
  it('hands the credentials over and refuses with its reason: MQTT 5 as is, 3.1.1 mapped (0x86 -> 4, 0x87 -> 5)', async () => {
    const auth = new FakeAuthorizer()
    auth.authenticateWith = (c) => (c.password?.toString() === 'right' ? {ok: true, identity: {clientId: c.clientId, username: c.username}} : {ok: false, reasonCode: c.username === 'banned' ? 0x87 : 0x86})
    const wire = await startWire({}, {authorizer: auth})
    expect((await wire.client({version: 5}).connect({clientId: 'a', username: 'u', password: Buffer.from('wrong')})).reasonCode).toBe(0x86)
    expect((await wire.client({version: 4}).connect({clientId: 'b', username: 'u', password: Buffer.from('wrong')})).returnCode).toBe(4)
    expect((await wire.client({version: 4}).connect({clientId: 'c', username: 'banned', password: Buffer.from('x')})).returnCode).toBe(5)
    expect((await wire.client({version: 5}).connect({clientId: 'd', username: 'u', password: Buffer.from('right')})).reasonCode).toBe(0)
    expect(auth.asked.filter((a) => a.startsWith('authenticate'))).toEqual(['authenticate a u wrong v5', 'authenticate b u wrong v4', 'authenticate c banned x v4', 'authenticate d u right v5'])
    expect(wire.broker.stats.authFailures).toBe(3)
    expect(wire.broker.clients.get('d')!.identity).toEqual({clientId: 'd', username: 'u'})
  })

  it('async: reads nothing while authenticate is pending, then handles what the client sent meanwhile, in order', async () => {
    const auth = new FakeAuthorizer()
    const answer = deferred<AuthOutcome>()
    auth.authenticateWith = () => answer.promise
    const wire = await startWire({}, {authorizer: auth})
    const c = wire.client({version: 4})
    // CONNECT, SUBSCRIBE and PINGREQ in one write: one read chunk.
    c.send(Buffer.concat([encode(c.connectPacket({clientId: 'slow'}), 4), encode({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 't', qos: 0}]}, 4), encode({cmd: 'pingreq'}, 4)]))
    await waitFor(() => auth.asked.length === 1, 2000, 'authenticate to be asked')
    const conn = [...wire.broker.connections][0]
    expect(conn.state).toBe(ConnState.Authenticating)
    expect(wire.broker.subscriptions.size).toBe(0)
    expect(c.packets).toEqual([])
    answer.resolve({ok: true, identity: {clientId: 'slow'}})
    await c.next('pingresp')
    expect(c.packets.map((p) => p.cmd)).toEqual(['connack', 'suback', 'pingresp'])
    expect(wire.broker.subscriptions.size).toBe(1)
  })

  it('async: a client that closes while authenticate is pending is dropped; the late answer changes nothing', async () => {
    const auth = new FakeAuthorizer()
    const answer = deferred<AuthOutcome>()
    auth.authenticateWith = () => answer.promise
    const wire = await startWire({}, {authorizer: auth})
    const c = wire.client({version: 5})
    c.sendPacket(c.connectPacket({clientId: 'gone'}))
    await waitFor(() => auth.asked.length === 1, 2000, 'authenticate to be asked')
    c.destroy()
    await waitFor(() => wire.broker.connections.size === 0, 2000, 'the connection to go')
    answer.resolve({ok: true, identity: {clientId: 'gone'}})
    await answer.promise
    await new Promise((r) => setImmediate(r))
    expect(wire.broker.clients.size).toBe(0)
    expect(wire.broker.stats.connectionsTotal).toBe(0)
  })

  it('async: a rejected authenticate refuses the CONNECT (0x80) and is logged', async () => {
    const auth = new FakeAuthorizer()
    auth.authenticateWith = () => Promise.reject(new Error('backend down'))
    const wire = await startWire({}, {authorizer: auth})
    expect((await wire.client({version: 5}).connect({clientId: 'x'})).reasonCode).toBe(0x80)
  })

  it('take-over: canTakeOver false refuses the newcomer with 0x87 and leaves the holder connected', async () => {
    const auth = new FakeAuthorizer()
    const wire = await startWire({}, {authorizer: auth})
    const first = wire.client({version: 5})
    await first.connect({clientId: 'dev', username: 'owner'})
    auth.takeOver = false
    expect(((await wire.client({version: 5}).connect({clientId: 'dev', username: 'intruder'})) as IConnackPacket).reasonCode).toBe(0x87)
    expect(auth.asked).toContain('takeover intruder owner')
    await first.ping()
    auth.takeOver = true
    expect((await wire.client({version: 5}).connect({clientId: 'dev', username: 'owner'})).reasonCode).toBe(0)
    expect((await first.next('disconnect')) as {reasonCode?: number}).toMatchObject({reasonCode: 0x8e})
  })
})

describe('authorizer: access', () => {
  it('PUBLISH refused: dropped and counted; MQTT 5 PUBACK/PUBREC 0x87, 3.1.1 acknowledged as usual', async () => {
    const auth = new FakeAuthorizer()
    auth.deniedPublish.add('secret')
    const wire = await startWire({}, {authorizer: auth})
    const sub = wire.client({version: 4})
    await sub.connect({clientId: 'sub'})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '#', qos: 2}]})
    await sub.next('suback')
    const v5 = wire.client({version: 5})
    await v5.connect({clientId: 'p5'})
    v5.sendPacket({cmd: 'publish', topic: 'secret', payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false})
    expect(((await v5.next('puback')) as IPubackPacket).reasonCode).toBe(0x87)
    v5.sendPacket({cmd: 'publish', topic: 'secret', payload: Buffer.from('2'), qos: 2, messageId: 2, retain: false, dup: false})
    expect(((await v5.next('pubrec')) as {reasonCode?: number}).reasonCode).toBe(0x87)
    const v4 = wire.client({version: 4})
    await v4.connect({clientId: 'p4'})
    v4.sendPacket({cmd: 'publish', topic: 'secret', payload: Buffer.from('3'), qos: 1, messageId: 1, retain: true, dup: false})
    expect(((await v4.next('puback')) as IPubackPacket).messageId).toBe(1)
    v4.sendPacket({cmd: 'publish', topic: 'open', payload: Buffer.from('4'), qos: 0, retain: false, dup: false})
    const got = await sub.next('publish')
    expect((got as {topic: string}).topic).toBe('open')
    expect(sub.received('publish').length).toBe(1)
    expect(wire.broker.stats.publishDenied).toBe(3)
    expect(wire.broker.store.retainedCount).toBe(0)
  })

  it('SUBSCRIBE refused per filter: MQTT 5 0x87, 3.1.1 0x80; the others granted', async () => {
    const auth = new FakeAuthorizer()
    auth.deniedSubscribe.add('#')
    const wire = await startWire({}, {authorizer: auth})
    for (const version of [5, 4] as const) {
      const c = wire.client({version})
      await c.connect({clientId: `s${version}`})
      c.sendPacket({cmd: 'subscribe', messageId: 3, subscriptions: [{topic: '#', qos: 1}, {topic: 'mine/+', qos: 1}]})
      expect(((await c.next('suback')) as ISubackPacket).granted).toEqual([version === 5 ? 0x87 : 0x80, 1])
    }
    expect(wire.broker.subscriptions.size).toBe(2)
  })

  it('delivery: canRead false skips that delivery (live and queued), others still get it', async () => {
    const auth = new FakeAuthorizer()
    const wire = await startWire({}, {authorizer: auth})
    const sub = wire.client({version: 4})
    await sub.connect({clientId: 'reader'})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'r/#', qos: 1}]})
    await sub.next('suback')
    auth.deniedRead.add('r/hidden')
    wire.broker.publish('r/hidden', 'no', {qos: 1})
    wire.broker.publish('r/shown', 'yes', {qos: 1})
    const got = await sub.next('publish')
    expect((got as {topic: string}).topic).toBe('r/shown')
    expect(wire.broker.stats.deliveriesDenied).toBe(1)
    expect(auth.asked).toContain('read reader r/hidden')
  })

  it('checksAccess false: no access question is asked at all (the hot path stays free)', async () => {
    const auth = new FakeAuthorizer()
    auth.checksAccess = false
    auth.deniedPublish.add('t')
    const wire = await startWire({}, {authorizer: auth})
    const c = wire.client({version: 5})
    await c.connect({clientId: 'x'})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 't', qos: 1}]})
    await c.next('suback')
    c.sendPacket({cmd: 'publish', topic: 't', payload: Buffer.from('1'), qos: 1, messageId: 2, retain: false, dup: false})
    expect(((await c.next('puback')) as IPubackPacket).reasonCode ?? 0).toBe(0)
    await c.next('publish')
    expect(auth.asked).toEqual(['authenticate x - - v5'])
  })
})
