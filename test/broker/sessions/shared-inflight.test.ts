/**
 * Shared subscriptions, MQTT 5 §4.8.2, through real sockets: a message already sent to a member stays
 * with that member's session when it leaves. QoS 2 (PUBREC pending, or PUBREL sent and PUBCOMP
 * pending): never to another member, also when the session ends [MQTT-4.8.2-4] [MQTT-4.8.2-5].
 * QoS 1 unacknowledged: kept for a persistent member's return (the spec's MAY), handed to another
 * member when the member's session ends (SHOULD). Queued, never sent: to another online member.
 */
import type {IPublishPacket, IPubrelPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {RawClient} from '../../helpers/raw.js'
import {connected, type Hostile, hostileBroker, publishes, subscribed} from '../hostile/helpers.js'

afterEach(closeAll)

const PERSISTENT = {clean: false, properties: {sessionExpiryInterval: 300}}

/** Member A (persistent unless `expiry` 0) alone in group g, B joins after A got `n` messages of `qos`. */
async function twoMembers(h: Hostile, qos: 1 | 2, n = 1, a: Record<string, unknown> = {}) {
  const memberA = await subscribed(h.port, 5, '$share/g/t', qos, {clientId: 'member-a', ...PERSISTENT, ...a})
  const pub = await connected(h.port, 5)
  for (let i = 1; i <= n; i++) {
    pub.sendPacket({cmd: 'publish', topic: 't', payload: Buffer.from(`m${i}`), qos, messageId: i, retain: false, dup: false})
    await pub.next(qos === 1 ? 'puback' : 'pubrec')
  }
  await waitFor(() => publishes(memberA).length >= 1, 5000, 'A got the first message')
  const memberB = await subscribed(h.port, 5, '$share/g/t', qos, {clientId: 'member-b'})
  return {memberA, memberB, pub}
}

/** A goes away without DISCONNECT; once the broker noticed, B must have nothing (after a round trip). */
async function leaveAndCheck(h: Hostile, memberA: RawClient, memberB: RawClient, orphan: boolean): Promise<void> {
  memberA.destroy()
  if (orphan) await waitFor(() => h.broker.stats.sessionsOrphan === 1, 5000, 'A offline, session kept')
  else await waitFor(() => h.broker.stats.connectionsLive === 2, 5000, 'A gone')
  await memberB.ping()
}

async function reconnectA(h: Hostile): Promise<RawClient> {
  const back = await RawClient.open(h.port, {version: 5})
  const ack = (await back.connect({clientId: 'member-a', ...PERSISTENT})) as {sessionPresent: boolean}
  expect(ack.sessionPresent).toBe(true)
  return back
}

describe('shared subscription: a delivery already sent stays with its member', () => {
  it.each<[1 | 2, string]>([
    [2, 'QoS 2 without PUBREC: another member does not get it; A gets it again (DUP) on return'],
    [1, 'QoS 1 unacknowledged by a persistent member: kept for it, not sent to another member; again (DUP) on return'],
  ])('QoS %i: %s', async (qos) => {
    const h = await hostileBroker()
    const {memberA, memberB} = await twoMembers(h, qos)
    await leaveAndCheck(h, memberA, memberB, true)
    expect(publishes(memberB)).toEqual([])
    const back = await reconnectA(h)
    const again = (await back.next('publish')) as IPublishPacket
    expect(again.payload.toString()).toBe('m1')
    expect(again.dup).toBe(true)
  })

  it('QoS 2 with PUBREC, PUBCOMP missing: another member does not get it; A gets the PUBREL on return', async () => {
    const h = await hostileBroker()
    const {memberA, memberB} = await twoMembers(h, 2)
    const first = publishes(memberA)[0]
    memberA.sendPacket({cmd: 'pubrec', messageId: first.messageId})
    await memberA.next('pubrel')
    await leaveAndCheck(h, memberA, memberB, true)
    expect(publishes(memberB)).toEqual([])
    const back = await reconnectA(h)
    const rel = (await back.next('pubrel')) as IPubrelPacket
    expect(rel.messageId).toBe(first.messageId)
    await back.ping()
    expect(publishes(back)).toEqual([])
  })

  it('QoS 2 to a member whose session ends with its connection: nobody else gets it [MQTT-4.8.2-5]', async () => {
    const h = await hostileBroker()
    const {memberA, memberB} = await twoMembers(h, 2, 1, {clean: true, properties: {}})
    await leaveAndCheck(h, memberA, memberB, false)
    expect(publishes(memberB)).toEqual([])
  })

  it('QoS 1 to a member whose session ends with its connection: handed to another member', async () => {
    const h = await hostileBroker()
    const {memberA, memberB} = await twoMembers(h, 1, 1, {clean: true, properties: {}})
    memberA.destroy()
    await waitFor(() => publishes(memberB).length === 1, 5000, 'B got the message')
    expect(publishes(memberB)[0].payload.toString()).toBe('m1')
  })

  it('queued, never sent (A at its receive maximum): handed to another member; the sent one stays', async () => {
    const h = await hostileBroker()
    const {memberA, memberB} = await twoMembers(h, 2, 3, {properties: {sessionExpiryInterval: 300, receiveMaximum: 1}})
    expect(publishes(memberA).map((p) => p.payload.toString())).toEqual(['m1'])
    memberA.destroy()
    await waitFor(() => publishes(memberB).length === 2, 5000, 'B got the two queued messages')
    await memberB.ping()
    expect(publishes(memberB).map((p) => p.payload.toString())).toEqual(['m2', 'm3'])
    const back = await reconnectA(h)
    const again = (await back.next('publish')) as IPublishPacket
    expect(again.payload.toString()).toBe('m1')
  })

  it('a persistent member that never returns: its unacknowledged QoS 1 goes to another member when the session expires', async () => {
    const clock = new ManualClock()
    const h = await hostileBroker({}, {clock})
    const {memberA, memberB} = await twoMembers(h, 1, 1, {properties: {sessionExpiryInterval: 60}})
    await leaveAndCheck(h, memberA, memberB, true)
    expect(publishes(memberB)).toEqual([])
    clock.advance(61_000)
    await waitFor(() => publishes(memberB).length === 1, 5000, 'B got it after A expired')
    expect(publishes(memberB)[0].payload.toString()).toBe('m1')
  })
})
