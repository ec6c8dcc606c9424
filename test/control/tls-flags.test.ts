/** applyTlsFlags on its own: which listener the --tls-* flags edit or add, and the refusals (the files: tls.test.ts). */
import {describe, expect, it} from 'vitest'
import {ConfigError, type ListenerConfig} from '../../src/config/index.js'
import {applyTlsFlags, DEFAULT_TLS_PORT, tlsFlagIndex} from '../../src/broker/process/tls-flags.js'

const plain: ListenerConfig = {host: '0.0.0.0', port: 1883}
const secure: ListenerConfig = {host: '0.0.0.0', port: 8883, tls: {cert: 'old.pem', key: 'old.key'}}

function apply(before: ListenerConfig[], values: Record<string, unknown>): ListenerConfig[] {
  const listeners = structuredClone(before)
  applyTlsFlags(listeners, values, before)
  return listeners
}

describe('applyTlsFlags', () => {
  it('adds a TLS listener on 8883 at the first listener\'s host when the file has none', () => {
    expect(DEFAULT_TLS_PORT).toBe(8883)
    expect(apply([{host: '10.0.0.1', port: 1883}], {'tls-cert': 'c.pem', 'tls-key': 'k.pem'})).toEqual([
      {host: '10.0.0.1', port: 1883},
      {host: '10.0.0.1', port: 8883, tls: {cert: 'c.pem', key: 'k.pem'}},
    ])
  })

  it('edits the file\'s TLS listener instead of adding a second one', () => {
    expect(apply([plain, secure], {'tls-port': 9883, 'tls-ca': 'ca.pem'})).toEqual([plain, {host: '0.0.0.0', port: 9883, tls: {cert: 'old.pem', key: 'old.key', ca: 'ca.pem'}}])
    expect(tlsFlagIndex([plain, secure], [plain, secure])).toBe(1)
    expect(tlsFlagIndex([plain, {...secure}], [plain])).toBe(1)
  })

  it('a new TLS listener needs both --tls-cert and --tls-key', () => {
    expect(() => apply([plain], {'tls-cert': 'c.pem'})).toThrow('--tls-cert "c.pem" needs --tls-key FILE: a TLS listener needs a PEM certificate (--tls-cert) and its private key (--tls-key)')
    expect(() => apply([plain], {'tls-port': 9000})).toThrow('--tls-port "9000" needs --tls-cert FILE and --tls-key FILE')
  })

  it('refuses a TLS port another listener already uses, and --port with --tls-port on a TLS-first file', () => {
    expect(() => apply([plain], {'tls-cert': 'c', 'tls-key': 'k', 'tls-port': 1883})).toThrow(ConfigError)
    expect(() => apply([plain], {'tls-cert': 'c', 'tls-key': 'k', 'tls-port': 1883})).toThrow('--tls-port "1883" is not allowed: listeners[0] (0.0.0.0:1883) already uses port 1883; choose another --tls-port')
    expect(() => apply([{host: '0.0.0.0', port: 8883}], {'tls-cert': 'c', 'tls-key': 'k'})).toThrow('(the TLS listener defaults to 8883)')
    expect(() => apply([secure, plain], {port: 1884, 'tls-port': 9883})).toThrow('is not allowed together with --port')
  })

  it('port 0 (any free port) never collides', () => {
    expect(apply([{host: '127.0.0.1', port: 0}], {'tls-cert': 'c', 'tls-key': 'k', 'tls-port': 0})[1]).toEqual({host: '127.0.0.1', port: 0, tls: {cert: 'c', key: 'k'}})
  })
})
