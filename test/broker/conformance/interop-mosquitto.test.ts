/**
 * Interop with Debian's mosquitto_pub / mosquitto_sub (-V 31, 311, 5) through our broker: retained,
 * QoS 1 (live and queued in a persistent session), and `$SYS` not delivered to `#`.
 * Missing binaries fail these tests with a clear message; CI installs mosquitto-clients.
 */
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {type MosquittoVersion, mosquittoPub, mosquittoSub, requireMosquittoClients, type RunningSub} from '../../helpers/mosquitto.js'
import {clientId, closeAll, collect, connect, uniqueTopic} from '../../helpers/mqtt.js'
import {startTarget} from './target.js'

const VERSIONS: Array<{cli: MosquittoVersion; js: 3 | 4 | 5}> = [
  {cli: '31', js: 3},
  {cli: '311', js: 4},
  {cli: '5', js: 5},
]

const running: RunningSub[] = []
beforeAll(requireMosquittoClients)
afterEach(async () => {
  for (const sub of running.splice(0)) sub.kill()
  await closeAll()
})

function sub(port: number, version: MosquittoVersion, args: string[]): RunningSub {
  const started = mosquittoSub(port, version, args)
  running.push(started)
  return started
}

describe.each(VERSIONS)('mosquitto clients -V $cli', ({cli, js}) => {
  it('mosquitto_pub -r stores a retained message that mosquitto_sub and MQTT.js receive', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('interop-ret')
    await mosquittoPub(target.port, cli, ['-t', topic, '-m', `retained via ${cli}`, '-r', '-q', '1'])
    const reader = sub(target.port, cli, ['-t', topic, '-C', '1', '-W', '10', '-v'])
    const {exitCode, lines} = await reader.done()
    expect(exitCode).toBe(0)
    expect(lines).toEqual([`${topic} retained via ${cli}`])
    const client = await connect(target.url, {version: js})
    const inbox = collect(client)
    await client.subscribeAsync(topic, {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe(`retained via ${cli}`)
    expect(message.packet.retain).toBe(true)
  })

  it('QoS 1 live: MQTT.js publishes, mosquitto_sub -q 1 receives (readiness via a retained marker)', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('interop-q1')
    const pub = await connect(target.url, {version: js})
    await pub.publishAsync(`${topic}/ready`, 'ready', {qos: 1, retain: true})
    const reader = sub(target.port, cli, ['-t', `${topic}/#`, '-q', '1', '-C', '3', '-W', '10', '-v'])
    await reader.waitLines(1) // the retained marker: the subscription is in place
    await pub.publishAsync(`${topic}/data`, 'one', {qos: 1})
    await pub.publishAsync(`${topic}/data`, 'two', {qos: 1})
    const {exitCode, lines} = await reader.done()
    expect(exitCode).toBe(0)
    expect(lines).toEqual([`${topic}/ready ready`, `${topic}/data one`, `${topic}/data two`])
  })

  it('QoS 1 queued: mosquitto_sub -c subscribes and leaves, mosquitto_pub -q 1 publishes, mosquitto_sub -c gets it', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('interop-queue')
    const id = clientId('mq')
    const session = cli === '5' ? ['-c', '-i', id, '-x', '300'] : ['-c', '-i', id]
    const subscribe = sub(target.port, cli, [...session, '-t', topic, '-q', '1', '-E'])
    expect((await subscribe.done()).exitCode).toBe(0)
    await mosquittoPub(target.port, cli, ['-t', topic, '-m', 'queued while away', '-q', '1'])
    const resume = sub(target.port, cli, [...session, '-t', topic, '-q', '1', '-C', '1', '-W', '10'])
    const {exitCode, lines} = await resume.done()
    expect(exitCode).toBe(0)
    expect(lines).toEqual(['queued while away'])
  })

  it("-t '#' does not receive $SYS topics; -t '$SYS/#' does", async () => {
    const target = await startTarget()
    const root = uniqueTopic('interop-sys')
    const pub = await connect(target.url, {version: js})
    await pub.publishAsync(`${root}/ready`, 'ready', {qos: 1, retain: true})
    const all = sub(target.port, cli, ['-t', '#', '-C', '2', '-W', '10', '-v'])
    const sys = sub(target.port, cli, ['-t', `$SYS/${root}/#`, '-C', '1', '-W', '10', '-v'])
    await all.waitLines(1)
    // mosquitto_sub gives no readiness signal for sys: retain the $SYS message so it arrives on subscribe.
    target.broker.publish(`$SYS/${root}/x`, 'sys', {retain: true})
    await pub.publishAsync(`${root}/after`, 'after', {qos: 1})
    const allResult = await all.done()
    expect(allResult.lines).toEqual([`${root}/ready ready`, `${root}/after after`])
    const sysResult = await sys.done()
    expect(sysResult.lines).toEqual([`$SYS/${root}/x sys`])
  })
})
