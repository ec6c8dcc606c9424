import {describe, expect, it} from 'vitest'
import {connectHost, hostPort, isAnyAddress} from '../src/net.js'

describe('addresses', () => {
  it('an any-address connects on the loopback of its family; other hosts unchanged', () => {
    expect(['0.0.0.0', '', '::', '[::]', '192.0.2.7', 'broker.local'].map(connectHost)).toEqual(['127.0.0.1', '127.0.0.1', '::1', '::1', '192.0.2.7', 'broker.local'])
    expect(['0.0.0.0', '::', '[::]', '127.0.0.1', '::1'].map(isAnyAddress)).toEqual([true, true, true, false, false])
  })

  it('host:port brackets IPv6', () => {
    expect(hostPort('::1', 1883)).toBe('[::1]:1883')
    expect(hostPort('127.0.0.1', 8883)).toBe('127.0.0.1:8883')
  })
})
