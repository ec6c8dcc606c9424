/**
 * The ACL matrix through real clients (MQTT.js, 3.1.1 and 5.0): users x publish / subscribe / read
 * x literal, +, #, %u, %c, $SYS and retained, each allowed and each denied case checked.
 *   - publish: an observer subscribed to everything sees allowed messages and never a denied one;
 *     MQTT 5 denied QoS 1 gets PUBACK 0x87, 3.1.1 is acknowledged and dropped (as Mosquitto does);
 *   - subscribe: SUBACK 0x87 (3.1.1: 0x80) unless every topic the filter can match is readable;
 *   - read: retained messages obey read rules; a reload that takes read access away stops delivery.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, type MqttClient} from '../../helpers/mqtt.js'
import {type AuthBroker, grantedQos, mosquittoPasswd, startAuthBroker, tempDir} from './helpers.js'

const ACL = `# rules before the first user line: anonymous clients
topic read public/#
topic read $SYS/broker/uptime

user alice
topic readwrite alice/#
topic read shared/+/status
topic deny shared/secret/status
topic write cmd/#

user bob
topic read #
topic write bob/+

user admin
topic readwrite #
topic read $SYS/#

pattern readwrite devices/%u/#
pattern read inbox/%c
`

const tmp = tempDir()
const pwFile = join(tmp.dir, 'passwd')
const aclFile = join(tmp.dir, 'acl')
let b: AuthBroker
const PW: Record<string, string> = {alice: 'pa-alice', bob: 'pa-bob', admin: 'pa-admin'}

beforeAll(async () => {
  await mosquittoPasswd(['-c', '-b', pwFile, 'alice', PW.alice])
  await mosquittoPasswd(['-b', pwFile, 'bob', PW.bob])
  await mosquittoPasswd(['-b', pwFile, 'admin', PW.admin])
  writeFileSync(aclFile, ACL)
  b = await startAuthBroker({passwordFile: pwFile, aclFile, allowAnonymous: true})
})
afterEach(closeAll)
afterAll(async () => {
  await b?.close()
  tmp.cleanup()
})

type User = 'alice' | 'bob' | 'admin' | 'anon'
const login = (user: User, version: 4 | 5, clientId?: string) =>
  connect(b.url, {protocolVersion: version, ...(user === 'anon' ? {} : {username: user, password: PW[user]}), ...(clientId ? {clientId} : {})})

// [user, topic, allowed]
const PUBLISH: Array<[User, string, boolean]> = [
  ['alice', 'alice/a', true],
  ['alice', 'alice/a/b/c', true],
  ['alice', 'bob/x', false],
  ['alice', 'cmd/reboot', true],
  ['alice', 'shared/a/status', false], // read only
  ['alice', 'devices/alice/temp', true], // pattern %u
  ['alice', 'devices/bob/temp', false],
  ['bob', 'bob/1', true], // bob/+
  ['bob', 'bob/1/2', false], // + is one level
  ['bob', 'alice/a', false], // read # is not write
  ['admin', 'any/thing', true],
  ['anon', 'public/x', false], // anonymous: read only
  ['anon', 'devices//t', false], // %u patterns do not apply to anonymous clients
]

// [user, filter, allowed]
const SUBSCRIBE: Array<[User, string, boolean]> = [
  ['alice', 'alice/#', true],
  ['alice', 'alice/+/x', true],
  ['alice', 'shared/a/status', true],
  ['alice', 'shared/+/status', false], // could match the denied shared/secret/status
  ['alice', 'cmd/#', false], // write only
  ['alice', '#', false],
  ['alice', 'devices/alice/+', true], // %u
  ['alice', 'devices/+/temp', false],
  ['alice', 'inbox/matrix-alice', true], // %c (the client id below)
  ['alice', 'inbox/+', false],
  ['bob', '#', true],
  ['bob', '+/+', true],
  ['bob', '$SYS/#', false], // '#' does not reach $SYS
  ['anon', 'public/#', true],
  ['anon', '$SYS/broker/uptime', true],
  ['anon', '$SYS/#', false],
  ['anon', '#', false],
  ['admin', '$SYS/#', true],
  ['admin', '#', true],
]

describe.each([4, 5] as const)('ACL matrix, protocol version %i', (version) => {
  it('publish: allowed reach a subscriber, denied never do (5.0: PUBACK 0x87)', async () => {
    const observer = await login('admin', version)
    const seen = collect(observer)
    await observer.subscribeAsync('#', {qos: 1})
    const clients = new Map<User, MqttClient>()
    for (const [user, topic, allowed] of PUBLISH) {
      const c = clients.get(user) ?? (await login(user, version))
      clients.set(user, c)
      const payload = `${version}:${user}:${topic}`
      let error: (Error & {code?: number}) | undefined
      try {
        await c.publishAsync(topic, payload, {qos: 1})
      } catch (e) {
        error = e as Error & {code?: number}
      }
      if (version === 5 && !allowed) expect(error?.code, `${user} -> ${topic}`).toBe(0x87)
      else expect(error, `${user} -> ${topic}`).toBeUndefined()
      const marker = `marker ${payload}`
      await observer.publishAsync('zz/marker', marker, {qos: 1})
      await seen.waitPayload(marker)
      expect(seen.payloads().includes(payload), `${user} publishing ${topic}`).toBe(allowed)
    }
  })

  it('subscribe: granted only when every topic the filter can match is readable', async () => {
    const clients = new Map<User, MqttClient>()
    const refused = version === 5 ? 0x87 : 0x80
    for (const [user, filter, allowed] of SUBSCRIBE) {
      const c = clients.get(user) ?? (await login(user, version, user === 'alice' ? 'matrix-alice' : undefined))
      clients.set(user, c)
      expect(await grantedQos(c, filter), `${user} subscribing ${filter}`).toBe(allowed ? 1 : refused)
    }
  })

  it('retained messages obey read rules ($SYS included)', async () => {
    const admin = await login('admin', version)
    const tag = `r${version}`
    const topics = [`public/${tag}`, `alice/${tag}`, 'shared/secret/status', `bob/${tag}`, 'public/zz-end', 'alice/zz-end']
    for (const t of topics) await admin.publishAsync(t, `retained ${t}`, {qos: 1, retain: true})
    b.broker.publish('$SYS/broker/uptime', `${tag} seconds`, {retain: true})
    // Retained messages of a subscription come before the SUBACK of the next one: a second
    // subscription to a readable retained marker ends the wait.
    const retainedFor = async (user: User, filter: string, marker: string) => {
      const c = await login(user, version)
      const inbox = collect(c)
      await c.subscribeAsync(filter, {qos: 1})
      await c.subscribeAsync(marker, {qos: 1})
      await inbox.waitPayload(`retained ${marker}`)
      return inbox.messages.filter((m) => m.packet.retain && m.topic !== marker).map((m) => m.topic).sort()
    }
    expect(await retainedFor('anon', 'public/+', 'public/zz-end')).toEqual([`public/${tag}`])
    expect(await retainedFor('alice', 'alice/+', 'alice/zz-end')).toEqual([`alice/${tag}`])
    expect(await retainedFor('anon', '$SYS/broker/uptime', 'public/zz-end')).toEqual(['$SYS/broker/uptime'])
    const bobSaw = await retainedFor('bob', '#', 'public/zz-end')
    expect(bobSaw).toEqual(expect.arrayContaining([`public/${tag}`, `alice/${tag}`, `bob/${tag}`, 'shared/secret/status']))
    expect(bobSaw.some((t) => t.startsWith('$SYS'))).toBe(false)
    expect(await retainedFor('admin', '$SYS/#', 'public/zz-end')).toEqual(['$SYS/broker/uptime'])
    // Remove them for the other version's run.
    for (const t of topics) await admin.publishAsync(t, '', {qos: 1, retain: true})
  })

  it('delivery: an ACL reload that takes read access away stops messages on a live subscription', async () => {
    const file = join(tmp.dir, `acl-reload-${version}`)
    writeFileSync(file, 'user alice\ntopic readwrite feed/#\nuser admin\ntopic readwrite #\n')
    const rb = await startAuthBroker({passwordFile: pwFile, aclFile: file})
    try {
      const alice = await connect(rb.url, {protocolVersion: version, username: 'alice', password: PW.alice})
      const admin = await connect(rb.url, {protocolVersion: version, username: 'admin', password: PW.admin})
      const inbox = collect(alice)
      const adminInbox = collect(admin)
      await alice.subscribeAsync('feed/#', {qos: 1})
      await admin.subscribeAsync('feed/#', {qos: 1})
      await admin.publishAsync('feed/1', 'before', {qos: 1})
      await inbox.waitPayload('before')
      writeFileSync(file, 'user alice\ntopic readwrite feed/public/#\nuser admin\ntopic readwrite #\n')
      expect(rb.authorizer.reload().ok).toBe(true)
      await admin.publishAsync('feed/1', 'after', {qos: 1})
      await admin.publishAsync('feed/public/1', 'public after', {qos: 1})
      await adminInbox.waitPayload('public after')
      await inbox.waitPayload('public after')
      expect(inbox.payloads()).not.toContain('after')
      expect(rb.broker.stats.deliveriesDenied).toBeGreaterThan(0)
    } finally {
      await rb.close()
    }
  })
})
