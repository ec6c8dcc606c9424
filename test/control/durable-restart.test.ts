/**
 * Restart through the real CLI (`mqttctl start --detach`, the durable store by default): a persistent
 * session with its subscription and queued QoS 1/2 messages, a retained message, a QoS 2 exchange
 * stopped half-way in each direction (inbound: PUBREC sent, PUBREL not yet; outbound: PUBREL sent,
 * PUBCOMP not yet) and, on MQTT 5, a will waiting for its delay: all present and correct after
 * `mqttctl stop` + start, and after kill -9 + start. MQTT 3.1.1 and 5.0.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {closeAll} from '../helpers/mqtt.js'
import {RawClient} from '../helpers/raw.js'
import {connect, durableBox, end, freePort, persistent as persistentFor, rawPersistent, sleep, startDetached, until} from './helpers-durable.js'

const box = durableBox()
afterEach(closeAll)

const cases = [
  {version: 4 as const, stop: 'stop' as const},
  {version: 4 as const, stop: 'kill' as const},
  {version: 5 as const, stop: 'stop' as const},
  {version: 5 as const, stop: 'kill' as const},
]

describe.each(cases)('restart with the durable store: MQTT $version, $stop', ({version, stop}) => {
  it('sessions, subscriptions, queued QoS 1/2, retained, half-done QoS 2 both ways and a delayed will come back', async () => {
    const data = box.dir('mqttctl-restart-')
    const port = await freePort()
    let pid = await startDetached(box, data, port)
    const v5 = version === 5
    const persistent = (clientId: string) => persistentFor(version, clientId)
    const rawSession = (clientId: string) => rawPersistent(version, clientId)

    // A persistent subscriber, offline while messages are queued for it.
    const sub = await connect(port, persistent('rs-sub'))
    await sub.subscribeAsync('rs/q/#', {qos: 2})
    await end(sub)

    const pub = await connect(port, {protocolVersion: version, clientId: 'rs-pub'})
    await pub.publishAsync('rs/q/1', 'one', {qos: 1})
    await pub.publishAsync('rs/q/2', 'two', {qos: 2})
    await pub.publishAsync('rs/ret', 'kept', {qos: 1, retain: true})

    // Inbound QoS 2 stopped after PUBREC.
    const halfIn = await RawClient.open(port, {version})
    await halfIn.connect(rawSession('rs-half-in'))
    halfIn.sendPacket({cmd: 'publish', topic: 'rs/q/3', payload: Buffer.from('three'), qos: 2, messageId: 7, retain: false, dup: false})
    expect((await halfIn.next('pubrec')).messageId).toBe(7)
    halfIn.destroy()

    // Outbound QoS 2 stopped after PUBREL.
    const halfOut = await RawClient.open(port, {version})
    await halfOut.connect(rawSession('rs-half-out'))
    halfOut.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'rs/out', qos: 2}]})
    await halfOut.next('suback')
    await pub.publishAsync('rs/out', 'four', {qos: 2})
    const out = (await halfOut.next('publish')) as {messageId: number; payload: Buffer}
    expect(out.payload.toString()).toBe('four')
    halfOut.sendPacket({cmd: 'pubrec', messageId: out.messageId})
    expect((await halfOut.next('pubrel')).messageId).toBe(out.messageId)
    halfOut.destroy()
    await end(pub)

    // MQTT 5: a will waiting for its 2 s delay while the broker goes down.
    let willGoneAt = 0
    if (v5) {
      const watcher = await connect(port, persistent('rs-watcher'))
      await watcher.subscribeAsync('rs/will', {qos: 1})
      await watcher.subscribeAsync('rs/will-flush', {qos: 1})
      await end(watcher)
      const willer = await RawClient.open(port, {version})
      await willer.connect({...rawSession('rs-willer'), will: {topic: 'rs/will', payload: Buffer.from('gone'), qos: 1, retain: false, properties: {willDelayInterval: 2}}})
      willer.destroy() // abnormal: the will waits for its delay
      willGoneAt = Date.now()
      await willer.closed
      // A QoS 1 message for the (offline, persistent) watcher: its PUBACK waits for the disk, and the
      // journal is in order, so once it arrives the pending will (journaled at the disconnect) is there too.
      const flush = await connect(port, {protocolVersion: version, clientId: 'rs-flush'})
      await flush.publishAsync('rs/will-flush', 'x', {qos: 1})
      await end(flush)
    }

    // Down, by `mqttctl stop` or by kill -9.
    if (stop === 'stop') expect((await box.cli(['stop', '--data-dir', data])).exitCode).toBe(0)
    else process.kill(pid, 'SIGKILL')
    if (v5) {
      // The will's delay runs out while the broker is down: it must go out at start.
      const left = willGoneAt + 2100 - Date.now()
      if (left > 0) await sleep(left)
    }
    pid = await startDetached(box, data, port)
    const log = readFileSync(join(data, 'broker.log'), 'utf8')
    expect(log).toMatch(/Store: loaded \d+ persistent sessions/)

    // The subscriber's session, its subscription and its queue.
    const back = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, ...persistent('rs-sub')})
    const got: string[] = []
    back.on('message', (topic, payload) => got.push(`${topic}=${payload}`))
    const [connack] = (await new Promise((r) => back.once('connect', (...a) => r(a)))) as [{sessionPresent: boolean}]
    expect(connack.sessionPresent).toBe(true)
    const waitGot = (n: number) => until(() => got.length >= n, 10_000)
    await waitGot(3)
    expect(got.sort()).toEqual(['rs/q/1=one', 'rs/q/2=two', 'rs/q/3=three'])

    // The inbound half: a resent PUBLISH is not routed again, PUBREL completes it.
    const halfIn2 = await RawClient.open(port, {version})
    expect((await halfIn2.connect(rawSession('rs-half-in'))).sessionPresent).toBe(true)
    halfIn2.sendPacket({cmd: 'publish', topic: 'rs/q/3', payload: Buffer.from('three'), qos: 2, messageId: 7, retain: false, dup: true})
    expect((await halfIn2.next('pubrec')).messageId).toBe(7)
    halfIn2.sendPacket({cmd: 'pubrel', messageId: 7})
    const comp = (await halfIn2.next('pubcomp')) as {messageId: number; reasonCode?: number}
    expect(comp.messageId).toBe(7)
    expect(comp.reasonCode ?? 0).toBe(0)

    // The outbound half: the broker resends PUBREL.
    const halfOut2 = await RawClient.open(port, {version})
    expect((await halfOut2.connect(rawSession('rs-half-out'))).sessionPresent).toBe(true)
    expect((await halfOut2.next('pubrel')).messageId).toBe(out.messageId)
    halfOut2.sendPacket({cmd: 'pubcomp', messageId: out.messageId})

    // The subscription is live again, and the retained message is there.
    const pub2 = await connect(port, {protocolVersion: version, clientId: 'rs-pub2'})
    await pub2.publishAsync('rs/q/5', 'five', {qos: 1})
    await waitGot(4)
    expect(got).toContain('rs/q/5=five')
    const fresh = await connect(port, {protocolVersion: version, clientId: 'rs-fresh'})
    const retained = new Promise<[string, string, boolean]>((r) => fresh.once('message', (t, p, pk) => r([t, p.toString(), pk.retain])))
    await fresh.subscribeAsync('rs/ret', {qos: 1})
    expect(await retained).toEqual(['rs/ret', 'kept', true])

    if (v5) {
      const watcher = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, ...persistent('rs-watcher')})
      const will = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no will within 5 s of the restart')), 5000)
        watcher.on('message', (t, p) => {
          if (t !== 'rs/will') return
          clearTimeout(timer)
          resolve(`${t}=${p}`)
        })
      })
      expect(will).toBe('rs/will=gone')
      await end(watcher)
    }
    // Nothing arrived twice (QoS 2 exactly once across the restart): a marker on the same topic at the
    // same QoS comes after anything routed there before it (an Ordered Topic), a duplicate included.
    await pub2.publishAsync('rs/q/3', 'marker', {qos: 2})
    await until(() => got.includes('rs/q/3=marker'), 10_000)
    expect(got).toContain('rs/q/3=marker')
    expect(got.filter((g) => g === 'rs/q/3=three')).toHaveLength(1)
    await Promise.all([end(back), end(pub2), end(fresh)])
    halfIn2.destroy()
    halfOut2.destroy()
    expect((await box.cli(['stop', '--data-dir', data])).exitCode).toBe(0)
    // The readable view was written at stop.
    const view = JSON.parse(readFileSync(join(data, 'subscriptions.json'), 'utf8')) as {sessions: Array<{clientId: string}>}
    expect(view.sessions.map((s) => s.clientId)).toContain('rs-sub')
  }, 90_000)
})
