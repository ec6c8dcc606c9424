/** src/broker/protocol/errors.ts and reason-codes.ts: the one mapping from errors to each version's codes. */
import {describe, expect, it} from 'vitest'
import {ProtocolError, connackRefusal, malformed, parserErrorCode, protocolError, reasonCodeOf} from '../../../src/broker/protocol/errors.js'
import {RC, V3_CONNACK, v3ConnackCode} from '../../../src/broker/protocol/reason-codes.js'

describe('errors to reason codes', () => {
  it('parser errors: too large 0x95, bad protocol level 0x84, anything else malformed 0x81', () => {
    expect(parserErrorCode('Packet too large: 300 bytes')).toBe(RC.PACKET_TOO_LARGE)
    expect(parserErrorCode('Invalid protocol version')).toBe(RC.UNSUPPORTED_PROTOCOL_VERSION)
    expect(parserErrorCode('Invalid UTF-8 string')).toBe(RC.MALFORMED_PACKET)
  })

  it('handler errors: a ProtocolError carries its code, anything else is 0x83', () => {
    expect(reasonCodeOf(new ProtocolError(RC.TOPIC_ALIAS_INVALID, 'x'))).toBe(0x94)
    expect(reasonCodeOf(protocolError('x'))).toBe(0x82)
    expect(reasonCodeOf(malformed('x'))).toBe(0x81)
    expect(reasonCodeOf(new TypeError('bug'))).toBe(0x83)
  })

  it('CONNACK refusals in the client version: MQTT 5 as is, 3.1/3.1.1 the nearest return code, unknown none', () => {
    expect(connackRefusal(5, RC.BANNED)).toEqual({cmd: 'connack', sessionPresent: false, reasonCode: 0x8a})
    expect(connackRefusal(4, RC.BANNED)).toEqual({cmd: 'connack', sessionPresent: false, returnCode: V3_CONNACK.NOT_AUTHORIZED})
    expect(connackRefusal(3, RC.CLIENT_IDENTIFIER_NOT_VALID)?.returnCode).toBe(V3_CONNACK.IDENTIFIER_REJECTED)
    expect(connackRefusal(0, RC.MALFORMED_PACKET)).toBeUndefined()
  })

  it('3.1.1 return codes for every MQTT 5 CONNACK reason', () => {
    expect(v3ConnackCode(RC.SUCCESS)).toBe(0)
    expect(v3ConnackCode(RC.UNSUPPORTED_PROTOCOL_VERSION)).toBe(1)
    expect(v3ConnackCode(RC.CLIENT_IDENTIFIER_NOT_VALID)).toBe(2)
    expect(v3ConnackCode(RC.BAD_USER_NAME_OR_PASSWORD)).toBe(4)
    for (const r of [RC.NOT_AUTHORIZED, RC.BANNED, RC.BAD_AUTHENTICATION_METHOD]) expect(v3ConnackCode(r)).toBe(5)
    for (const r of [RC.UNSPECIFIED_ERROR, RC.SERVER_UNAVAILABLE, RC.QUOTA_EXCEEDED, RC.SERVER_BUSY]) expect(v3ConnackCode(r)).toBe(3)
  })
})
