/**
 * frame-errors.ts on a fake connection: a frame the broker cannot accept is counted, refuses the
 * CONNECT in the client's version where one fits (before CONNECT is accepted) or fails the connection
 * with the reason (after), and is ignored on a closed connection.
 */
import {describe, expect, it} from 'vitest'
import {ConnState} from '../../src/broker/conn-state.js'
import {type FailingConnection, onParseError, onViolation} from '../../src/broker/frame-errors.js'
import {RC} from '../../src/broker/protocol/reason-codes.js'

function fake(state: ConnState) {
  const calls: unknown[][] = []
  const logs: string[] = []
  const conn: FailingConnection = {
    state,
    clientId: 'c1',
    remote: '127.0.0.1:5000',
    host: {stats: {protocolErrors: 0}, logDebug: (m) => logs.push(m())},
    refuse: (...a) => calls.push(['refuse', ...a]),
    fail: (...a) => calls.push(['fail', ...a]),
  }
  return {conn, calls, logs}
}

describe('onParseError', () => {
  it('before CONNECT: an MQTT 5 CONNECT is refused in version 5; an unsupported level gets a 3.1.1 CONNACK; anything else closes', () => {
    const five = fake(ConnState.Connecting)
    onParseError(five.conn, new Error('Malformed Properties'), 'connect', 5)
    expect(five.calls).toEqual([['refuse', 5, RC.MALFORMED_PACKET, 'Malformed Properties']])
    expect(five.conn.host.stats.protocolErrors).toBe(1)

    const level = fake(ConnState.Connecting)
    onParseError(level.conn, new Error('Invalid protocol version'), 'connect', 9)
    expect(level.calls).toEqual([['refuse', 4, RC.UNSUPPORTED_PROTOCOL_VERSION, 'Invalid protocol version']])

    const other = fake(ConnState.Connecting)
    onParseError(other.conn, new Error('Invalid header flag bits'), 'publish', 4)
    expect(other.calls).toEqual([['refuse', 0, RC.MALFORMED_PACKET, 'Invalid header flag bits']])
  })

  it('after CONNECT: fails with the reason (packet too large keeps its own code); closed: nothing', () => {
    const open = fake(ConnState.Connected)
    onParseError(open.conn, new Error('Packet too large: 300 bytes'), 'publish', 5)
    expect(open.calls).toEqual([['fail', RC.PACKET_TOO_LARGE, 'Packet too large: 300 bytes']])

    const closed = fake(ConnState.Closed)
    onParseError(closed.conn, new Error('x'), 'publish', 5)
    expect(closed.calls).toEqual([])
    expect(closed.conn.host.stats.protocolErrors).toBe(0)
  })
})

describe('onViolation', () => {
  const v = {reasonCode: RC.PROTOCOL_ERROR, message: 'duplicate property'}

  it('before CONNECT: MQTT 5 gets the reason in a CONNACK, 3.1.1 a close without one', () => {
    const five = fake(ConnState.Connecting)
    onViolation(five.conn, v, 'connect', 5)
    expect(five.calls).toEqual([['refuse', 5, RC.PROTOCOL_ERROR, 'duplicate property (connect)']])
    const four = fake(ConnState.Connecting)
    onViolation(four.conn, v, 'connect', 4)
    expect(four.calls).toEqual([['refuse', 0, RC.PROTOCOL_ERROR, 'duplicate property (connect)']])
  })

  it('after CONNECT: logged with the client id, then fails with the reason; closed: nothing', () => {
    const open = fake(ConnState.Connected)
    onViolation(open.conn, v, 'subscribe', 5)
    expect(open.logs).toEqual(['Client c1: duplicate property (subscribe)'])
    expect(open.calls).toEqual([['fail', RC.PROTOCOL_ERROR, 'duplicate property (subscribe)']])
    expect(open.conn.host.stats.protocolErrors).toBe(1)
    const closed = fake(ConnState.Closed)
    onViolation(closed.conn, v, 'subscribe', 5)
    expect(closed.calls).toEqual([])
  })
})
