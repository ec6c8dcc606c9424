/**
 * MQTT 5 shared subscriptions ($share/group/filter): each message goes to one member, spread across
 * members, alongside ordinary subscribers; a QoS 1 message in flight to a member that leaves (session
 * ends) goes to another member.
 */
import type {IPublishPacket, ISubackPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {codeOf, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, TARGET, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

describe('shared subscriptions [MQTT-4.8.2]', () => {
  it('each message goes to exactly one member, both members get some, a plain subscriber gets all', async () => {
    const root = uniqueTopic('share')
    const members = await Promise.all([0, 1].map(() => connect(target.url, {version: 5})))
    const inboxes = members.map((m) => collect(m))
    for (const m of members) await m.subscribeAsync(`$share/g1/${root}/+`, {qos: 1})
    const plain = await connect(target.url, {version: 5})
    const plainInbox = collect(plain)
    await plain.subscribeAsync(`${root}/+`, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    const sent = Array.from({length: 20}, (_, n) => `m${n}`)
    for (const payload of sent) await pub.publishAsync(`${root}/x`, payload, {qos: 1})
    await plainInbox.waitCount(20)
    const memberTotal = () => inboxes.reduce((sum, inbox) => sum + inbox.messages.length, 0)
    await waitFor(() => memberTotal() >= 20, 5000, '20 shared deliveries')
    // Exactly once across the group: no message missing, none twice.
    expect([...inboxes[0].payloads(), ...inboxes[1].payloads()].sort()).toEqual([...sent].sort())
    expect(inboxes[0].messages.length, 'member 1 got some').toBeGreaterThan(0)
    expect(inboxes[1].messages.length, 'member 2 got some').toBeGreaterThan(0)
    expect(plainInbox.payloads()).toEqual(sent)
  })

  it('two groups on the same filter each get every message once', async () => {
    const root = uniqueTopic('groups')
    const a = await connect(target.url, {version: 5})
    const b = await connect(target.url, {version: 5})
    const inboxA = collect(a)
    const inboxB = collect(b)
    await a.subscribeAsync(`$share/ga/${root}`, {qos: 0})
    await b.subscribeAsync(`$share/gb/${root}`, {qos: 0})
    const pub = await connect(target.url, {version: 5})
    for (let n = 0; n < 5; n++) await pub.publishAsync(root, `m${n}`, {qos: 1})
    await inboxA.waitCount(5)
    await inboxB.waitCount(5)
    expect(inboxA.payloads()).toEqual(inboxB.payloads())
  })

  it('retained messages are not sent for a new shared subscription [MQTT-3.8.4]', async () => {
    const topic = uniqueTopic('shareret')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'retained', {qos: 1, retain: true})
    const member = await connect(target.url, {version: 5})
    const inbox = collect(member)
    await member.subscribeAsync([`$share/gr/${topic}`, `${topic}-sentinel`], {qos: 1})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('a QoS 1 message in flight to a member whose session ends is sent to another member', async () => {
    const topic = uniqueTopic('handoff')
    const group = `$share/gh/${topic}`
    const leaver = await RawClient.open(target.port, {version: 5})
    await leaver.connect({properties: {sessionExpiryInterval: 0}})
    leaver.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: group, qos: 1}]})
    await leaver.next('suback')
    const stayer = await connect(target.url, {version: 5})
    const stayerInbox = collect(stayer)
    await stayer.subscribeAsync(group, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    // Publish until one message lands on the leaver (round robin or random, it gets one soon).
    let unacked: IPublishPacket | undefined
    for (let n = 0; n < 50 && !unacked; n++) {
      await pub.publishAsync(topic, `h${n}`, {qos: 1})
      await leaver.ping()
      unacked = leaver.received('publish')[0] as IPublishPacket | undefined
    }
    expect(unacked, 'the leaver was never chosen').toBeDefined()
    const payload = Buffer.from((unacked as IPublishPacket).payload).toString()
    leaver.destroy() // never PUBACKed; session expiry 0 ends the session
    await stayerInbox.waitPayload(payload)
  })

  it('a shared subscription with No Local set is a protocol error [MQTT-3.8.3-4]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `$share/gn/${uniqueTopic('nl')}`, qos: 0, nl: true}]})
    const outcome = await raw.next('suback').then(
      (p) => (p as ISubackPacket).granted[0] as number,
      () => 'closed' as const,
    )
    if (TARGET === 'mqttctl') {
      // [MQTT-3.8.3-4] a protocol error: DISCONNECT 0x82, no SUBACK.
      expect(outcome).toBe('closed')
      expect(codeOf(raw.received('disconnect')[0])).toBe(0x82)
    } else if (outcome !== 'closed') expect(outcome).toBeGreaterThanOrEqual(0x80)
  })

  it.each(['$share/g', '$share//t', '$share/g+/t', '$share/g#/t'])('invalid share filter %s is refused', async (filter) => {
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos: 0}]})
    const outcome = await raw.next('suback').then(
      (p) => (p as ISubackPacket).granted[0] as number,
      () => 'closed' as const,
    )
    if (TARGET === 'mqttctl') expect(outcome).toBe(0x8f)
    else if (outcome !== 'closed') expect(outcome).toBeGreaterThanOrEqual(0x80)
  })
})
