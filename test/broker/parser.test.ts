/**
 * src/broker/parser.ts subclasses mqtt-packet's Parser and uses its private members (_pos, _list,
 * _resetState, _parseString, _emitError). package.json pins mqtt-packet to the exact version those
 * were checked against; these tests fail loudly, naming the problem, when the version or the
 * internals change, and check the behaviour that depends on them.
 */
import {createRequire} from 'node:module'
import {readFileSync} from 'node:fs'
import mqtt from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {mqttPacket} from '../../src/broker/mqtt-packet.js'
import {FrameParser} from '../../src/broker/parser.js'

const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {dependencies: Record<string, string>}
const installed = (require('mqtt-packet/package.json') as {version: string}).version
const PRIVATE = '(src/broker/parser.ts uses its private members _pos, _list, _resetState, _parseString and _emitError: check them against the new version, then change the pin)'

describe('FrameParser and mqtt-packet internals', () => {
  it('mqtt-packet is pinned to one exact version, and that version is installed', () => {
    const pin = pkg.dependencies['mqtt-packet']
    expect(pin, `package.json must pin mqtt-packet to an exact version ${PRIVATE}`).toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed, `installed mqtt-packet ${installed} is not the pinned ${pin} ${PRIVATE}`).toBe(pin)
  })

  it('the private members parser.ts relies on still exist with the expected shape', () => {
    const Parser = require('mqtt-packet/parser.js') as {prototype: Record<string, unknown>}
    for (const method of ['_parseString', '_resetState', '_emitError', 'parse']) {
      expect(typeof Parser.prototype[method], `mqtt-packet Parser.prototype.${method} is gone ${PRIVATE}`).toBe('function')
    }
    const p = new FrameParser() as unknown as FrameParser & {_pos: unknown; _list: {length: unknown; slice: unknown}; parser: unknown}
    expect(typeof p.parser, `mqtt-packet Parser#parser (the instance's factory) is gone ${PRIVATE}`).toBe('function')
    p.decode(mqtt.generate({cmd: 'pingreq'}), 4)
    expect(typeof p._pos, `mqtt-packet Parser#_pos is not a number ${PRIVATE}`).toBe('number')
    expect(typeof p._list?.slice, `mqtt-packet Parser#_list has no slice() ${PRIVATE}`).toBe('function')
    expect(typeof p._list?.length, `mqtt-packet Parser#_list has no length ${PRIVATE}`).toBe('number')
  })

  it('decodes frame after frame; an error in one (a truncated frame) leaves no state for the next', () => {
    const p = new FrameParser()
    const connect = mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'a', keepalive: 10})
    expect(p.decode(connect, 0).packet).toMatchObject({cmd: 'connect', clientId: 'a'})
    const sub = mqtt.generate({cmd: 'subscribe', messageId: 5, subscriptions: [{topic: 'x/#', qos: 1}]})
    // Remaining length says 2 bytes more than there are: mqtt-packet stops mid-packet.
    const cut = Buffer.from(sub)
    cut[1] += 2
    const bad = p.decode(Buffer.concat([cut, Buffer.alloc(0)]), 4)
    expect(bad.error).toBeDefined()
    expect((bad as {cmd?: string}).cmd).toBe('subscribe')
    for (let i = 0; i < 3; i++) expect(p.decode(sub, 4).packet).toMatchObject({cmd: 'subscribe', messageId: 5, subscriptions: [{topic: 'x/#', qos: 1}]})
  })

  it('strings are strict UTF-8 without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]', () => {
    const p = new FrameParser()
    const frame = (topic: Buffer): Buffer => Buffer.concat([Buffer.from([0x30, 2 + topic.length + 1, 0, topic.length]), topic, Buffer.from('x')])
    expect(p.decode(frame(Buffer.from('ok/é')), 4).packet).toMatchObject({cmd: 'publish', topic: 'ok/é'})
    expect(p.decode(frame(Buffer.from([0x61, 0xff])), 4).error?.message).toBe('Invalid UTF-8 string')
    expect(p.decode(frame(Buffer.from([0x61, 0x00])), 4).error?.message).toBe('Invalid UTF-8 string')
    // A real U+FFFD (valid UTF-8 bytes EF BF BD) is allowed.
    expect(p.decode(frame(Buffer.from([0xef, 0xbf, 0xbd])), 4).packet).toMatchObject({topic: '\uFFFD'})
    expect(p.decode(frame(Buffer.from('fine')), 4).packet).toMatchObject({topic: 'fine'})
  })

  it("runs mqtt-packet's own parser and generator on bl's BufferList, and leaves the published package as it was for everyone else", () => {
    const p = new FrameParser() as unknown as FrameParser & {_list: object}
    const BufferList = require('bl/BufferList.js') as new () => object
    // bl's main export is a stream (BufferListStream, a readable-stream Duplex): the broker's parser must not hold one.
    expect(p._list.constructor, 'the broker parser must use bl/BufferList.js, not the stream in bl.js').toBe(BufferList)
    expect(typeof (p._list as {pipe?: unknown}).pipe).toBe('undefined')
    // Everyone else (this test imported mqtt-packet as published) still gets bl's stream.
    const published = require('mqtt-packet/parser.js') as new () => {_list: object; parser(opt: object): void}
    expect(mqttPacket.Parser, 'a fresh instance of parser.js, not the cached one').not.toBe(published)
    const theirs = new published()
    theirs.parser({})
    expect(require('bl')).not.toBe(BufferList)
    expect(theirs._list.constructor).toBe(require('bl') as object)
    expect(mqttPacket.writeToStream.cacheNumbers, "generate()'s 65,536-number cache is off").toBe(false)
    const connect = {cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'c', keepalive: 30, properties: {sessionExpiryInterval: 60}} as const
    expect(mqttPacket.generate(connect, {protocolVersion: 5})).toEqual(mqtt.generate(connect, {protocolVersion: 5}))
    expect(p.decode(mqttPacket.generate(connect, {protocolVersion: 5}), 0).packet).toMatchObject({clientId: 'c', properties: {sessionExpiryInterval: 60}})
  })
})

