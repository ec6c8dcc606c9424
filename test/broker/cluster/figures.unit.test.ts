/**
 * cluster/figures.ts without NATS: a peer's figures message is hostile until checked (size, JSON,
 * id and name lengths, every figure a safe non-negative integer), and the peer table is bounded.
 */
import {describe, expect, it} from 'vitest'
import {MAX_PEERS, parseFigures, PeerFigures} from '../../../src/broker/cluster/figures.js'

const good = {id: 'n1', name: 'host-a', clients: 3, received: 10, sent: 20, subscriptions: 4, exported: 1, imported: 2}
const msg = (v: unknown) => ({data: new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))})

describe('parseFigures', () => {
  it('reads a well-formed message into id and figures (extra fields dropped)', () => {
    expect(parseFigures(msg({...good, extra: 'x'}))).toEqual({id: 'n1', figures: {name: 'host-a', clients: 3, received: 10, sent: 20, subscriptions: 4, exported: 1, imported: 2}})
  })

  it.each([
    ['not JSON', '{"id":'],
    ['null', 'null'],
    ['an array', '[1,2]'],
    ['id not a string', {...good, id: 7}],
    ['id of 65 characters', {...good, id: 'x'.repeat(65)}],
    ['name missing', {...good, name: undefined}],
    ['name of 257 characters', {...good, name: 'n'.repeat(257)}],
    ['a negative figure', {...good, sent: -1}],
    ['a fractional figure', {...good, clients: 1.5}],
    ['a figure as a string', {...good, received: '10'}],
    ['a figure past 2^53', {...good, imported: 2 ** 53}],
    ['a figure missing', {...good, exported: undefined}],
  ])('refuses %s', (_what, v) => {
    expect(parseFigures(msg(v))).toBeUndefined()
  })

  it('accepts id 64 and name 256 characters long; refuses a message over 4096 bytes before parsing it', () => {
    expect(parseFigures(msg({...good, id: 'x'.repeat(64), name: 'n'.repeat(256)}))?.id).toHaveLength(64)
    const padded = JSON.stringify({...good, pad: 'p'.repeat(4096)})
    expect(parseFigures(msg(padded))).toBeUndefined()
    const atLimit = JSON.stringify({...good, pad: ''})
    expect(parseFigures(msg(atLimit + ' '.repeat(4096 - atLimit.length)))?.id).toBe('n1')
  })
})

describe('PeerFigures', () => {
  it('keeps the latest figures per node with their arrival time and ignores malformed messages', () => {
    const peers = new PeerFigures()
    peers.receive(msg(good), 100)
    peers.receive(msg({...good, clients: 9}), 200)
    peers.receive(msg('garbage'), 300)
    expect(peers.size).toBe(1)
    expect(peers.get('n1')).toEqual({figures: expect.objectContaining({clients: 9}), at: 200})
  })

  it(`remembers at most ${MAX_PEERS} nodes; known ones still update when full`, () => {
    const peers = new PeerFigures()
    for (let i = 0; i < MAX_PEERS + 10; i++) peers.receive(msg({...good, id: `n${i}`}), i)
    expect(peers.size).toBe(MAX_PEERS)
    expect(peers.has(`n${MAX_PEERS}`)).toBe(false)
    peers.receive(msg({...good, id: 'n0', sent: 99}), 1e6)
    expect(peers.get('n0')?.figures.sent).toBe(99)
  })
})
