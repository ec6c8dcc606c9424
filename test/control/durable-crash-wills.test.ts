/**
 * Wills across a crash, through the real CLI: clients with persistent sessions and wills are
 * connected when the broker is killed with SIGKILL (which ends every connection without DISCONNECT).
 * After `mqttctl start` again their wills are published, the will delay and the session expiry
 * counted from when the broker went down: MQTT 3.1.1 (persistent and clean session), MQTT 5.0 without
 * and with a delay that ran out while it was down, and a session that expired while down (its will
 * goes out as the session ends).
 * A client that had disconnected normally, and a will whose delay is far off, send nothing.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import {describe, expect, it} from 'vitest'
import {connect, durableBox, end, freePort, persistent, sleep, startDetached, until} from './helpers-durable.js'

const box = durableBox()

type Will = NonNullable<IClientOptions['will']>
const will = (name: string, delay?: number): Will => ({
  topic: `cw/${name}`,
  payload: Buffer.from(`${name} gone`),
  qos: 1,
  retain: false,
  ...(delay === undefined ? {} : {properties: {willDelayInterval: delay}}),
})

describe('kill -9 with clients connected: their wills after the restart', () => {
  it('3.1.1 and 5.0 wills are published, delays and expiry counted from the crash; none for a normal disconnect', async () => {
    const data = box.dir('mqttctl-crash-wills-')
    const port = await freePort()
    let pid = await startDetached(box, data, port)

    const watcher = await connect(port, persistent(5, 'cw-watcher'))
    await watcher.subscribeAsync('cw/#', {qos: 1})
    await end(watcher)

    const clients: MqttClient[] = []
    const open = async (o: IClientOptions) => {
      const c = await connect(port, o)
      c.on('error', () => {})
      clients.push(c)
      return c
    }
    // CONNACK of a persistent session is sent once the session (and so its will) is on disk.
    await open({...persistent(4, 'cw-v4'), will: will('v4')})
    await open({...persistent(5, 'cw-v5'), will: will('v5')})
    await open({...persistent(5, 'cw-v5-delay'), will: will('v5-delay', 2)})
    await open({...persistent(5, 'cw-v5-far'), will: will('v5-far', 3600)})
    // Session expiry 1 s, will delay 1 h: the session ends while the broker is down, and its will with it.
    await open({...persistent(5, 'cw-v5-expired', 1), will: will('v5-expired', 3600)})
    // A clean session (3.1.1 clean session 1): only its will is kept, written with the next batch.
    await open({protocolVersion: 4, clean: true, clientId: 'cw-v4-clean', will: will('v4-clean')})
    const left = await connect(port, {...persistent(4, 'cw-v4-left'), will: will('v4-left')})
    await end(left) // DISCONNECT: no will, ever
    // The normal disconnect reaches the disk before anything acknowledged after it (the journal is in order).
    const flush = await connect(port, {protocolVersion: 5, clientId: 'cw-flush'})
    await flush.publishAsync('cw-flush/x', 'x', {qos: 1, retain: true})
    await end(flush)

    process.kill(pid, 'SIGKILL')
    await Promise.all(clients.map((c) => end(c, true)))
    // Down for longer than the 2 s delay and the 1 s session expiry.
    await sleep(2200)
    pid = await startDetached(box, data, port)
    const log = readFileSync(join(data, 'broker.log'), 'utf8')
    expect(log).toMatch(/6 sessions were connected when the broker went down .*6 of their wills due/)

    // The listener before the CONNACK: the queued wills come right behind it.
    const got: string[] = []
    const back = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, ...persistent(5, 'cw-watcher')})
    back.on('message', (topic, payload) => got.push(`${topic}=${payload}`))
    back.on('error', () => {})
    const expected = ['cw/v4=v4 gone', 'cw/v4-clean=v4-clean gone', 'cw/v5=v5 gone', 'cw/v5-delay=v5-delay gone', 'cw/v5-expired=v5-expired gone']
    await until(() => expected.every((e) => got.includes(e)), 15_000)
    // The wills that must not come: a marker on each of their topics comes after anything published
    // there before it (an Ordered Topic), so once the markers are in, such a will would be too.
    const markers = ['cw/v4-left=marker', 'cw/v5-far=marker']
    const marker = await connect(port, {protocolVersion: 5, clientId: 'cw-marker'})
    for (const m of markers) await marker.publishAsync(m.split('=')[0], 'marker', {qos: 1})
    await end(marker)
    await until(() => markers.every((m) => got.includes(m)), 15_000)
    expect(got.filter((g) => markers.includes(g)).sort()).toEqual(markers.sort())
    expect(got.filter((g) => !markers.includes(g)).sort()).toEqual(expected.sort())

    await end(back)
    expect((await box.cli(['stop', '--data-dir', data])).exitCode).toBe(0)
  }, 90_000)
})
