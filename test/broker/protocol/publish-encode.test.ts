/** publishHead + payload decodes (mqtt-packet) to the PUBLISH meant, in every version and shape. */
import mqtt, {type IPublishPacket} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {publishHead, rawProperties} from '../../../src/broker/protocol/publish-encode.js'
import {validateFrame} from '../../../src/broker/protocol/validate.js'

function decode(buf: Buffer, version: number): IPublishPacket {
  const parser = mqtt.parser({protocolVersion: version})
  let out: IPublishPacket | undefined
  parser.on('packet', (p) => (out = p as IPublishPacket))
  parser.on('error', (e) => {
    throw e
  })
  parser.parse(buf)
  return out!
}

describe('publishHead', () => {
  for (const version of [4, 5]) {
    for (const qos of [0, 1, 2]) {
      for (const size of [0, 10, 200, 20_000, 3_000_000]) {
        it(`v${version} QoS ${qos}, ${size}-byte payload`, () => {
          const payload = Buffer.alloc(size, 7)
          const {head, idOffset} = publishHead('a/ü', size, qos, true, version === 5)
          if (qos > 0) head.writeUInt16BE(4242, idOffset)
          const p = decode(Buffer.concat([head, payload]), version)
          expect(p).toMatchObject({topic: 'a/ü', qos, retain: true})
          expect(p.payload.length).toBe(size)
          if (qos > 0) expect(p.messageId).toBe(4242)
        })
      }
    }
  }

  it('MQTT 5 properties: expiry, alias, subscription ids and raw forwarded ones in order', () => {
    const raw = rawProperties({contentType: 'ct', userProperties: {a: ['1', '3'], b: '2'}, correlationData: Buffer.from([9]), payloadFormatIndicator: true, responseTopic: 'r'})!
    const {head, idOffset} = publishHead('', 3, 1, false, true, {raw, expiry: 60, alias: 7, subscriptionIds: [1, 300, 268_435_455]})
    head.writeUInt16BE(5, idOffset)
    const frame = Buffer.concat([head, Buffer.from('abc')])
    const p = decode(frame, 5)
    expect(p.properties).toEqual({
      messageExpiryInterval: 60,
      topicAlias: 7,
      subscriptionIdentifier: [1, 300, 268_435_455],
      payloadFormatIndicator: true,
      contentType: 'ct',
      responseTopic: 'r',
      correlationData: Buffer.from([9]),
      userProperties: {a: ['1', '3'], b: '2'},
    })
    expect(p.payload.toString()).toBe('abc')
  })

  it('rawProperties of nothing is undefined, and a client-shaped frame with raw properties validates', () => {
    expect(rawProperties({})).toBeUndefined()
    const raw = rawProperties({userProperties: {k: 'v'}})!
    const {head} = publishHead('t', 1, 0, false, true, {raw})
    expect(validateFrame(Buffer.concat([head, Buffer.from('x')]), 5)).toBeUndefined()
  })
})
