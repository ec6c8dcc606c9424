import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {closeAll, collect, connect} from '../../helpers/mqtt.js'

let broker: StartedBroker | undefined

afterEach(async () => {
  await closeAll()
  await broker?.close()
  broker = undefined
})

describe('broker core smoke', () => {
  for (const protocolVersion of [3, 4, 5] as const) {
    it(`connects and relays QoS 0/1/2 with MQTT v${protocolVersion}`, async () => {
      broker = await startBroker()
      const protocolId = protocolVersion === 3 ? ('MQIsdp' as const) : ('MQTT' as const)
      const sub = await connect(broker.url, {protocolVersion, protocolId, clientId: `sub-${protocolVersion}`})
      const pub = await connect(broker.url, {protocolVersion, protocolId, clientId: `pub-${protocolVersion}`})
      const got = collect(sub)
      await sub.subscribeAsync('a/+', {qos: 2})
      await pub.publishAsync('a/0', 'zero', {qos: 0})
      await pub.publishAsync('a/1', 'one', {qos: 1})
      await pub.publishAsync('a/2', 'two', {qos: 2})
      const msgs = await got.waitCount(3)
      expect(msgs.map((m) => [m.topic, String(m.payload), m.packet.qos])).toEqual([
        ['a/0', 'zero', 0],
        ['a/1', 'one', 1],
        ['a/2', 'two', 2],
      ])
      expect(broker.broker.clientCount()).toBe(2)
      expect(broker.broker.stats.messagesReceived).toBe(3)
      expect(broker.broker.stats.messagesSent).toBe(3)
    })
  }
})
