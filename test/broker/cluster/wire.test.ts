/**
 * Message <-> NATS headers (src/broker/cluster/wire.ts) without a server: what a node encodes comes
 * back equal, MQTT 5 properties in their order; a hostile header is a WireError naming it, never a
 * crash or a half-decoded message.
 */
import {headers} from 'nats'
import {describe, expect, it} from 'vitest'
import type {Message} from '../../../src/broker/message.js'
import {H, WireError, decodeMessage, encodeHeaders, parseRawProperties} from '../../../src/broker/cluster/wire.js'
import {rawProperties} from '../../../src/broker/protocol/publish-encode.js'

const NOW = 1_700_000_000_000

function msg(over: Partial<Message> = {}): Message {
  return {topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, expiresAt: 0, ...over}
}

/** User property pairs of raw property bytes, in order (an independent reader for the assertions). */
function userPairs(raw: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = []
  let i = 0
  const str = (): string => {
    const n = raw.readUInt16BE(i)
    const s = raw.subarray(i + 2, i + 2 + n).toString()
    i += 2 + n
    return s
  }
  while (i < raw.length) {
    const id = raw[i++]
    if (id === 0x01) i++
    else if (id === 0x03 || id === 0x08 || id === 0x09) str()
    else if (id === 0x26) out.push([str(), str()])
    else throw new Error(`unexpected id ${id}`)
  }
  return out
}

/** Raw bytes of user properties in exactly this order (what a client's PUBLISH carries). */
function rawUser(pairs: Array<[string, string]>): Buffer {
  return Buffer.concat(pairs.map(([k, v]) => {
    const kb = Buffer.from(k)
    const vb = Buffer.from(v)
    const b = Buffer.alloc(5 + kb.length + vb.length)
    b[0] = 0x26
    b.writeUInt16BE(kb.length, 1)
    kb.copy(b, 3)
    b.writeUInt16BE(vb.length, 3 + kb.length)
    vb.copy(b, 5 + kb.length)
    return b
  }))
}

function hdrs(entries: Array<[string, string]>) {
  const h = headers()
  for (const [k, v] of entries) h.append(k, v)
  return h
}

function decode(entries: Array<[string, string]>) {
  return decodeMessage('a/b', Buffer.from('x'), hdrs(entries), NOW)
}

describe('cluster wire: round trip', () => {
  it('a plain QoS 0 message has no headers and comes back as it was', () => {
    expect(encodeHeaders(msg(), NOW)).toBeUndefined()
    const {msg: back} = decodeMessage('a/b', Buffer.from('hi'), undefined, NOW)
    expect(back).toEqual(msg())
  })

  it('QoS, retain, expiry as time left, node, publisher on request', () => {
    const h = encodeHeaders(msg({qos: 2, retain: true, expiresAt: NOW + 5000, from: 'c1'}), NOW, {node: 'n-1', withFrom: true})!
    expect(h.get(H.expiry)).toBe('5000')
    // 300 ms later on the receiving node: the time left counts from its own clock.
    const {msg: back, node} = decodeMessage('a/b', Buffer.from('hi'), h, NOW + 300)
    expect(back).toMatchObject({qos: 2, retain: true, expiresAt: NOW + 300 + 5000, from: 'c1'})
    expect(node).toBe('n-1')
    const abs = encodeHeaders(msg({qos: 1, expiresAt: NOW + 5000}), NOW, {absoluteExpiry: true})!
    expect(decodeMessage('a/b', Buffer.from(''), abs, NOW + 999).msg.expiresAt).toBe(NOW + 5000)
  })

  it('properties from an object: every one back, user properties in the object order', () => {
    const properties = {
      payloadFormatIndicator: true,
      contentType: 'text/plain; ü',
      responseTopic: 'reply/to',
      correlationData: Buffer.from([0, 1, 2, 255]),
      userProperties: {b: '1', a: ['2', '3'], ['__proto__']: 'x', '': ' padded '},
    }
    const h = encodeHeaders(msg({qos: 1, properties}), NOW)!
    const back = decodeMessage('a/b', Buffer.from('hi'), h, NOW).msg
    expect(back.properties).toEqual(properties)
    expect(Object.keys(back.properties!.userProperties!)).toEqual(['b', 'a', '__proto__', ''])
    expect(Object.getPrototypeOf(back.properties!.userProperties)).toBe(Object.prototype)
  })

  it('raw property bytes travel as sent: repeated names interleaved with others keep their order', () => {
    const pairs: Array<[string, string]> = [['a', '1'], ['b', '2'], ['a', '3'], ['c', ''], ['b', '4']]
    const raw = Buffer.concat([Buffer.from([0x01, 0x01]), rawUser(pairs.slice(0, 2)), rawProperties({contentType: 'ct'})!, rawUser(pairs.slice(2))])
    const h = encodeHeaders(msg({qos: 1, raw, properties: {payloadFormatIndicator: true, contentType: 'ct'}}), NOW)!
    expect(h.has(H.userProperty)).toBe(false) // one header carries them all
    const back = decodeMessage('a/b', Buffer.from('hi'), h, NOW).msg
    expect(back.raw).toEqual(raw)
    expect(userPairs(back.raw!)).toEqual(pairs)
    expect(back.properties).toEqual({payloadFormatIndicator: true, contentType: 'ct', userProperties: {a: ['1', '3'], b: ['2', '4'], c: ''}})
  })

  it('parseRawProperties reads what rawProperties writes', () => {
    const p = {payloadFormatIndicator: false, contentType: 'x', responseTopic: 'r/t', correlationData: Buffer.from('cd'), userProperties: {k: ['v', 'w']}}
    expect(parseRawProperties(rawProperties(p)!, 10)).toEqual(p)
  })
})

describe('cluster wire: hostile headers', () => {
  const cases: Array<[string, Array<[string, string]>, RegExp]> = [
    ['QoS out of range', [[H.qos, '3']], /Mqtt-Qos 3 is larger than 2/],
    ['QoS not a number', [[H.qos, '1e3']], /Mqtt-Qos "1e3" is not an integer/],
    ['QoS twice', [[H.qos, '1'], [H.qos, '2']], /Mqtt-Qos given 2 times/],
    ['retain not a flag', [[H.retain, 'yes']], /Mqtt-Retain "yes" is not 0 or 1/],
    ['expiry negative', [[H.expiry, '-5']], /Mqtt-Expiry "-5" is not an integer/],
    ['expiry huge', [[H.expiry, '9999999999999999']], /Mqtt-Expiry .* is larger than/],
    ['content type not JSON', [[H.contentType, 'text/plain']], /Mqtt-Ct is not a JSON string/],
    ['content type not a string', [[H.contentType, '{"a":1}']], /Mqtt-Ct is not a JSON string/],
    ['content type too long', [[H.contentType, JSON.stringify('x'.repeat(70_000))]], /Mqtt-Ct is longer than 65535 bytes/],
    ['correlation data not base64', [[H.correlationData, 'a$b=']], /Mqtt-Cd is not base64/],
    ['user property not a pair', [[H.userProperty, '["a"]']], /Mqtt-Up is not a \["name","value"\] pair/],
    ['user property not JSON', [[H.userProperty, '[a,b']], /Mqtt-Up is not JSON/],
    ['user property value a number', [[H.userProperty, '["a",1]']], /Mqtt-Up is not a/],
    ['node id with spaces', [[H.node, 'a b']], /Mqtt-Node is not a node id/],
    ['raw not base64', [[H.raw, '***']], /Mqtt-Raw is not base64/],
    ['raw with a property that is not forwarded', [[H.raw, Buffer.from([0x02, 0, 0, 0, 1]).toString('base64')]], /property 0x2 is not one that is forwarded/],
    ['raw string cut short', [[H.raw, Buffer.from([0x03, 0, 9, 0x61]).toString('base64')]], /content type is cut short/],
    ['raw string not UTF-8', [[H.raw, Buffer.from([0x08, 0, 2, 0xc3, 0x28]).toString('base64')]], /response topic is not UTF-8/],
    ['raw string with NUL', [[H.raw, Buffer.from([0x26, 0, 1, 0, 0, 1, 0x61]).toString('base64')]], /user property name contains U\+0000/],
    ['raw correlation data cut short', [[H.raw, Buffer.from([0x09, 0, 5, 1]).toString('base64')]], /correlation data is cut short/],
    ['raw payload format 2', [[H.raw, Buffer.from([0x01, 2]).toString('base64')]], /bad payload format indicator/],
  ]
  for (const [name, entries, error] of cases) {
    it(`${name}: a WireError that says what`, () => {
      expect(() => decode(entries)).toThrow(WireError)
      expect(() => decode(entries)).toThrow(error)
    })
  }

  it('too many user properties, as headers or in raw bytes', () => {
    const many = Array.from({length: 6}, (_, i) => [H.userProperty, JSON.stringify(['k', String(i)])] as [string, string])
    expect(() => decodeMessage('a/b', Buffer.from(''), hdrs(many), NOW, {maxUserProperties: 5})).toThrow(/more than 5 user properties/)
    const raw = rawUser(Array.from({length: 6}, (_, i) => ['k', String(i)] as [string, string])).toString('base64')
    expect(() => decodeMessage('a/b', Buffer.from(''), hdrs([[H.raw, raw]]), NOW, {maxUserProperties: 5})).toThrow(/more than 5 user properties/)
  })

  it('unknown headers (a newer peer) are ignored', () => {
    expect(decode([['X-Other', 'whatever'], [H.qos, '1']]).msg.qos).toBe(1)
  })

  it('random header values never throw anything but WireError', () => {
    let seed = 42
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n)
    const keys = Object.values(H)
    const alphabet = '01 9-"[]{},:ab\\=+/\u00e9'
    for (let i = 0; i < 3000; i++) {
      const entries: Array<[string, string]> = []
      for (let j = rnd(4); j >= 0; j--) {
        let v = ''
        for (let k = rnd(12); k > 0; k--) v += alphabet[rnd(alphabet.length)]
        entries.push([keys[rnd(keys.length)], v.trim() === '' ? '0' : v.trim()])
      }
      try {
        decode(entries)
      } catch (error) {
        expect(error, JSON.stringify(entries)).toBeInstanceOf(WireError)
      }
    }
  })
})
