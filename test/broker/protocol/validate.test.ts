/**
 * validateFrame on real bytes: every hole mqtt-packet leaves open (it decodes each "accepted by
 * mqtt-packet" frame below without an error), and every valid packet it generates passes.
 */
import mqtt, {type Packet} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {FrameParser} from '../../../src/broker/parser.js'
import {forwardedPublishProperties, validateFrame} from '../../../src/broker/protocol/validate.js'

const MALFORMED = 0x81
const PROTOCOL = 0x82
const ALIAS = 0x94

/** Fixed header + body: remaining length computed (one byte is enough for these). */
function frame(first: number, body: number[]): Buffer {
  if (body.length > 127) throw new Error('test frame too long')
  return Buffer.from([first, body.length, ...body])
}
const str = (s: string): number[] => [s.length >> 8, s.length & 0xff, ...Buffer.from(s)]
const connectBody = (level: number, flags: number, props: number[] | undefined, rest: number[]): number[] => [
  ...str(level === 3 ? 'MQIsdp' : 'MQTT'),
  level,
  flags,
  0,
  60,
  ...(props === undefined ? [] : [props.length, ...props]),
  ...rest,
]

interface Case {
  name: string
  bytes: Buffer
  version: number
  /** undefined: valid. */
  code?: number
  /** mqtt-packet decodes it without error (the hole the validator closes). */
  parserAccepts?: boolean
}

const cases: Case[] = [
  // The 10-byte PUBLISH: content type length 16 with 1 byte left -> contentType: null.
  {name: 'v5 PUBLISH, string property running past the end (the 10-byte killer)', bytes: Buffer.from([0x30, 0x08, 0x00, 0x01, 0x74, 0x03, 0x03, 0x00, 0x10, 0x41]), version: 5, code: MALFORMED, parserAccepts: true},
  {name: 'v5 PUBLISH, correlation data running past the end', bytes: frame(0x30, [...str('t'), 3, 0x09, 0x00, 0x20]), version: 5, code: MALFORMED, parserAccepts: true},
  {name: 'v5 PUBLISH, user property value running past the end', bytes: frame(0x30, [...str('t'), 6, 0x26, 0, 1, 0x61, 0, 9]), version: 5, code: MALFORMED, parserAccepts: true},
  {name: 'QoS 1 PUBLISH, packet id cut short (-1)', bytes: frame(0x32, [...str('t'), 0x00]), version: 4, code: MALFORMED, parserAccepts: true},
  {name: 'QoS 1 PUBLISH, packet id 0', bytes: frame(0x32, [...str('t'), 0, 0, 1]), version: 4, code: MALFORMED},
  {name: 'v5 PUBLISH, message expiry twice', bytes: frame(0x30, [...str('t'), 10, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2]), version: 5, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 PUBLISH, topic alias twice', bytes: frame(0x30, [...str('t'), 6, 0x23, 0, 1, 0x23, 0, 2]), version: 5, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 PUBLISH, topic alias 0', bytes: frame(0x30, [...str('t'), 3, 0x23, 0, 0]), version: 5, code: ALIAS},
  {name: 'v5 PUBLISH, subscription identifier from a client', bytes: frame(0x30, [...str('t'), 2, 0x0b, 1]), version: 5, code: MALFORMED},
  {name: 'v5 PUBLISH, payload format indicator 2', bytes: frame(0x30, [...str('t'), 2, 0x01, 2]), version: 5, code: PROTOCOL},
  {name: 'v5 PUBLISH, unknown property 0x7f', bytes: frame(0x30, [...str('t'), 2, 0x7f, 0]), version: 5, code: MALFORMED},
  {name: 'v5 PUBLISH, server-only property (assigned client id)', bytes: frame(0x30, [...str('t'), 4, 0x12, 0, 1, 0x61]), version: 5, code: MALFORMED},
  {name: 'v5 PUBLISH, property length past the end', bytes: frame(0x30, [...str('t'), 40, 0x01, 1]), version: 5, code: MALFORMED},
  {name: 'v5 PUBLISH, int32 property cut by the section end', bytes: frame(0x30, [...str('t'), 3, 0x02, 0, 0, 0, 9, 9]), version: 5, code: MALFORMED, parserAccepts: true},
  {name: 'v5 PUBLISH, invalid UTF-8 in content type', bytes: frame(0x30, [...str('t'), 5, 0x03, 0, 2, 0xc3, 0x28]), version: 5, code: MALFORMED},
  {name: 'v5 PUBLISH, U+0000 in a user property', bytes: frame(0x30, [...str('t'), 7, 0x26, 0, 1, 0, 0, 1, 0x61]), version: 5, code: MALFORMED},
  {name: 'v5 CONNECT, session expiry twice', bytes: frame(0x10, connectBody(5, 0x02, [0x11, 0, 0, 0, 5, 0x11, 0xff, 0xff, 0xff, 0xff], str('c'))), version: 0, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 CONNECT, receive maximum twice', bytes: frame(0x10, connectBody(5, 0x02, [0x21, 0, 5, 0x21, 0, 6], str('c'))), version: 0, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 CONNECT, receive maximum 0', bytes: frame(0x10, connectBody(5, 0x02, [0x21, 0, 0], str('c'))), version: 0, code: PROTOCOL},
  {name: 'v5 CONNECT, maximum packet size 0', bytes: frame(0x10, connectBody(5, 0x02, [0x27, 0, 0, 0, 0], str('c'))), version: 0, code: PROTOCOL},
  {name: 'v5 CONNECT, request problem information 2', bytes: frame(0x10, connectBody(5, 0x02, [0x17, 2], str('c'))), version: 0, code: PROTOCOL},
  {name: 'v5 CONNECT, will delay outside the will', bytes: frame(0x10, connectBody(5, 0x02, [0x18, 0, 0, 0, 1], str('c'))), version: 0, code: MALFORMED},
  {name: 'v5 CONNECT, will message expiry twice', bytes: frame(0x10, connectBody(5, 0x06, [], [...str('c'), 10, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 1, ...str('w'), 0, 0])), version: 0, code: PROTOCOL, parserAccepts: true},
  {name: 'CONNECT with trailing bytes', bytes: frame(0x10, connectBody(4, 0x02, undefined, [...str('c'), 1, 2, 3])), version: 0, code: MALFORMED, parserAccepts: true},
  {name: 'CONNECT, user name cut short', bytes: frame(0x10, connectBody(4, 0x82, undefined, [...str('c'), 0, 9, 0x61])), version: 0, code: MALFORMED},
  {name: 'CONNECT, will QoS 3', bytes: frame(0x10, connectBody(4, 0x1e, undefined, [...str('c'), ...str('w'), 0, 0])), version: 0, code: MALFORMED},
  {name: 'v5 PUBACK, reason string twice', bytes: frame(0x40, [0, 1, 0, 8, 0x1f, 0, 1, 0x61, 0x1f, 0, 1, 0x62]), version: 5, code: PROTOCOL, parserAccepts: true},
  {name: '3.1.1 PUBACK with extra bytes', bytes: frame(0x40, [0, 1, 0]), version: 4, code: MALFORMED, parserAccepts: true},
  {name: 'PUBACK packet id cut short', bytes: frame(0x40, [0]), version: 4, code: MALFORMED, parserAccepts: true},
  {name: 'PUBREL packet id 0', bytes: frame(0x62, [0, 0]), version: 4, code: MALFORMED},
  {name: 'v5 SUBSCRIBE, subscription identifier twice', bytes: frame(0x82, [0, 1, 4, 0x0b, 1, 0x0b, 2, ...str('a'), 0]), version: 5, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 SUBSCRIBE, subscription identifier 0', bytes: frame(0x82, [0, 1, 2, 0x0b, 0, ...str('a'), 0]), version: 5, code: PROTOCOL},
  {name: 'SUBSCRIBE packet id 0', bytes: frame(0x82, [0, 0, ...str('a'), 0]), version: 4, code: MALFORMED},
  {name: 'SUBSCRIBE, filter running past the end', bytes: frame(0x82, [0, 1, 0, 9, 0x61]), version: 4, code: MALFORMED},
  {name: 'v5 UNSUBSCRIBE, no filter', bytes: frame(0xa2, [0, 1, 0]), version: 5, code: PROTOCOL},
  {name: 'v5 DISCONNECT, session expiry twice', bytes: frame(0xe0, [0, 10, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]), version: 5, code: PROTOCOL, parserAccepts: true},
  {name: 'v5 DISCONNECT, bytes after the properties', bytes: frame(0xe0, [0, 0, 7]), version: 5, code: MALFORMED, parserAccepts: true},
  {name: '3.1.1 DISCONNECT with a body', bytes: frame(0xe0, [0]), version: 4, code: MALFORMED},
  {name: 'PINGREQ with a body', bytes: frame(0xc0, [0]), version: 4, code: MALFORMED},
  {name: 'property identifier as a 5-byte varint', bytes: frame(0x30, [...str('t'), 5, 0xff, 0xff, 0xff, 0xff, 0x7f]), version: 5, code: MALFORMED},
  // Valid, hand-built.
  {name: 'v5 PUBLISH, two user properties with the same name', bytes: frame(0x30, [...str('t'), 14, 0x26, ...str('a'), ...str('1'), 0x26, ...str('a'), ...str('2')]), version: 5},
  {name: 'v5 PUBACK with reason and no properties', bytes: frame(0x40, [0, 1, 0x10]), version: 5},
  {name: 'v5 DISCONNECT with no body', bytes: frame(0xe0, []), version: 5},
]

describe('validateFrame: hand-built frames', () => {
  const parser = new FrameParser()
  for (const c of cases) {
    it(c.name, () => {
      if (c.parserAccepts) {
        // The hole: mqtt-packet decodes it without an error.
        const r = parser.decode(c.bytes, c.version)
        expect(r.error, 'mqtt-packet accepts it').toBeUndefined()
      }
      const v = validateFrame(c.bytes, c.version)
      if (c.code === undefined) expect(v).toBeUndefined()
      else {
        expect(v, 'a violation').toBeDefined()
        expect(v!.reasonCode.toString(16)).toBe(c.code.toString(16))
        expect(v!.message.length).toBeGreaterThan(0)
      }
    })
  }
})

const user = {a: '1', b: ['x', 'y']}
const valid: Array<{packet: Packet; version: number}> = [
  {version: 3, packet: {cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'c', clean: true, keepalive: 10, will: {topic: 'w', payload: Buffer.from('x'), qos: 1, retain: true}, username: 'u', password: Buffer.from('p')}},
  {version: 4, packet: {cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 0}},
  {
    version: 5,
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'c',
      clean: false,
      keepalive: 30,
      properties: {sessionExpiryInterval: 60, receiveMaximum: 10, maximumPacketSize: 1000, topicAliasMaximum: 5, requestResponseInformation: true, requestProblemInformation: false, userProperties: user},
      will: {topic: 'w', payload: Buffer.from('bye'), qos: 2, retain: false, properties: {willDelayInterval: 5, payloadFormatIndicator: true, messageExpiryInterval: 9, contentType: 'text/plain', responseTopic: 'r', correlationData: Buffer.from([1, 2]), userProperties: user}},
      username: 'u',
    },
  },
  {version: 5, packet: {cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 2, retain: true, dup: false, messageId: 65535, properties: {payloadFormatIndicator: true, messageExpiryInterval: 10, topicAlias: 3, responseTopic: 'r/t', correlationData: Buffer.from('cd'), contentType: 'ct', userProperties: user}}},
  {version: 4, packet: {cmd: 'publish', topic: 'a', payload: Buffer.alloc(0), qos: 1, retain: false, dup: true, messageId: 7}},
  {version: 5, packet: {cmd: 'puback', messageId: 1, reasonCode: 0x10, properties: {reasonString: 'ok', userProperties: user}}},
  {version: 5, packet: {cmd: 'pubrec', messageId: 2, reasonCode: 0}},
  {version: 5, packet: {cmd: 'pubrel', messageId: 3, reasonCode: 0x92, properties: {reasonString: 'x'}}},
  {version: 4, packet: {cmd: 'pubcomp', messageId: 4}},
  {version: 5, packet: {cmd: 'subscribe', messageId: 9, properties: {subscriptionIdentifier: 268435455, userProperties: user}, subscriptions: [{topic: 'a/+', qos: 1, nl: true, rap: true, rh: 2}, {topic: '$share/g/#', qos: 0, nl: false, rap: false, rh: 0}]}},
  {version: 4, packet: {cmd: 'subscribe', messageId: 9, subscriptions: [{topic: '#', qos: 2}]}},
  {version: 5, packet: {cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['a', 'b/#'], properties: {userProperties: user}}},
  {version: 4, packet: {cmd: 'pingreq'}},
  {version: 5, packet: {cmd: 'disconnect', reasonCode: 4, properties: {sessionExpiryInterval: 0, reasonString: 'bye', serverReference: 's', userProperties: user}}},
  {version: 5, packet: {cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'm', authenticationData: Buffer.from('d')}}},
]

describe('validateFrame: packets generated by mqtt-packet are valid', () => {
  for (const {packet, version} of valid) {
    it(`${packet.cmd} v${version}`, () => {
      const bytes = mqtt.generate(packet, {protocolVersion: version})
      expect(validateFrame(bytes, packet.cmd === 'connect' ? 0 : version)).toBeUndefined()
    })
  }
})

describe('forwardedPublishProperties', () => {
  it('keeps user properties in the order received and drops alias and expiry', () => {
    const body = [
      ...str('t'),
      0, // property length, patched below
      0x26, ...str('a'), ...str('1'),
      0x23, 0, 4,
      0x26, ...str('b'), ...str('2'),
      0x02, 0, 0, 0, 9,
      0x26, ...str('a'), ...str('3'),
      0x03, ...str('ct'),
    ]
    body[3] = body.length - 4
    const f = frame(0x30, body)
    expect(validateFrame(f, 5)).toBeUndefined()
    const raw = forwardedPublishProperties(f)!
    // Re-parse the forwarded block as a PUBLISH of its own: a,b,a order and the content type kept.
    const rebuilt = Buffer.concat([Buffer.from([...str('t'), raw.length]), raw])
    const pairs: string[] = []
    for (let i = 4; i < rebuilt.length; ) {
      const id = rebuilt[i++]
      const n1 = rebuilt.readUInt16BE(i)
      const s1 = rebuilt.toString('utf8', i + 2, i + 2 + n1)
      i += 2 + n1
      if (id === 0x26) {
        const n2 = rebuilt.readUInt16BE(i)
        pairs.push(`${s1}=${rebuilt.toString('utf8', i + 2, i + 2 + n2)}`)
        i += 2 + n2
      } else pairs.push(`ct:${s1}`)
    }
    expect(pairs).toEqual(['a=1', 'b=2', 'a=3', 'ct:ct'])
  })

  it('is undefined when only alias and expiry are present', () => {
    const f = frame(0x30, [...str('t'), 8, 0x23, 0, 1, 0x02, 0, 0, 0, 1])
    expect(validateFrame(f, 5)).toBeUndefined()
    expect(forwardedPublishProperties(f)).toBeUndefined()
  })

  it('handles a QoS 1 frame (packet id before the properties)', () => {
    const f = mqtt.generate({cmd: 'publish', topic: 'x', payload: Buffer.from('p'), qos: 1, retain: false, dup: false, messageId: 3, properties: {contentType: 'c', topicAlias: 2}}, {protocolVersion: 5})
    expect(validateFrame(f, 5)).toBeUndefined()
    expect([...forwardedPublishProperties(f)!]).toEqual([0x03, 0, 1, 0x63])
  })
})
