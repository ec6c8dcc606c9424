/**
 * The broker on a durable store whose disk fails (an injected ENOSPC in the store's fs seam): QoS 1/2
 * work that needs the disk is refused (MQTT 5 PUBACK 0x97, 3.1.1 connection closed), never
 * acknowledged; QoS 0 and clean sessions keep flowing; once the disk writes again, so does the broker.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Packet} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {DurableStore} from '../../../src/broker/persistence/durable.js'
import {nodeFs, type StoreFs} from '../../../src/broker/persistence/files.js'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, collect, connect} from '../../helpers/mqtt.js'

let broker: StartedBroker | undefined
const dirs: string[] = []
afterEach(async () => {
  await closeAll()
  await broker?.close()
  broker = undefined
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

function faultyFs(): StoreFs & {failing: boolean} {
  const f = {
    ...nodeFs,
    failing: false,
    writev(fd: number, bufs: Buffer[], position: number) {
      return f.failing ? Promise.reject(Object.assign(new Error('injected ENOSPC'), {code: 'ENOSPC'})) : nodeFs.writev(fd, bufs, position)
    },
    open(path: string, flags: string) {
      return f.failing && flags !== 'r' ? Promise.reject(Object.assign(new Error('injected ENOSPC'), {code: 'ENOSPC'})) : nodeFs.open(path, flags)
    },
  }
  return f
}

describe('broker on a durable store with a failing disk', () => {
  it('MQTT 5: PUBACK 0x97 while the disk fails, QoS 0 flows, normal again when it writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttctl-degraded-'))
    dirs.push(dir)
    const fs = faultyFs()
    const storeClock = new ManualClock()
    const log = memoryLogger('info')
    const store = new DurableStore({dir, fs, clock: storeClock, logger: log, retryMs: 1000})
    broker = await startBroker({}, {store, logger: log})
    // A persistent subscriber, offline: its messages need the disk.
    const sub = await connect(broker.url, {protocolVersion: 5, clientId: 'deg-sub', clean: false, properties: {sessionExpiryInterval: 600}})
    await sub.subscribeAsync('deg/#', {qos: 1})
    sub.end(true)
    const live = await connect(broker.url, {protocolVersion: 5, clientId: 'deg-live'})
    const got = collect(live)
    await live.subscribeAsync('q0/#', {qos: 0})

    const pub = await connect(broker.url, {protocolVersion: 5, clientId: 'deg-pub'})
    const acks: Array<{id: number; rc: number}> = []
    pub.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'puback') acks.push({id: p.messageId!, rc: (p as {reasonCode?: number}).reasonCode ?? 0})
    })
    await pub.publishAsync('deg/1', 'stored', {qos: 1})
    expect(acks.at(-1)?.rc).toBe(0)

    fs.failing = true
    await pub.publishAsync('deg/2', 'not stored', {qos: 1}).catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    expect(acks.at(-1)?.rc).toBe(0x97)
    expect(store.degraded).toBe(true)
    await pub.publishAsync('deg/3', 'refused at once', {qos: 1}).catch(() => {})
    expect(acks.at(-1)?.rc).toBe(0x97)
    // QoS 0 keeps flowing.
    await pub.publishAsync('q0/x', 'still here', {qos: 0})
    await got.waitCount(1)
    expect(log.lines.filter((l) => l.includes('cannot write'))).toHaveLength(1)

    fs.failing = false
    storeClock.advance(1000)
    for (let i = 0; i < 400 && store.degraded; i++) await new Promise((r) => setTimeout(r, 5))
    expect(store.degraded).toBe(false)
    await pub.publishAsync('deg/4', 'stored again', {qos: 1})
    expect(acks.at(-1)?.rc).toBe(0)
    // Nothing acknowledged was lost: the subscriber gets what was PUBACKed with 0 (and maybe what was
    // refused but had reached memory: at least once is allowed, never fewer).
    const back = await connect(broker.url, {protocolVersion: 5, clientId: 'deg-sub', clean: false, properties: {sessionExpiryInterval: 600}})
    const inbox = collect(back)
    await inbox.waitPayload('stored')
    await inbox.waitPayload('stored again')
  })
})
