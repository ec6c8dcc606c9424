/**
 * auth/credential-cache.ts: verified logins remembered by an HMAC key (no password kept), tied to the
 * stored hash they were checked against, least recently used first out, off at capacity 0.
 */
import {describe, expect, it} from 'vitest'
import {CredentialCache, DEFAULT_CREDENTIAL_CACHE} from '../../../src/broker/auth/credential-cache.js'

const pw = (s: string): Buffer => Buffer.from(s)

describe('CredentialCache', () => {
  it('remembers a verified login for the same user, password and stored hash only', () => {
    const c = new CredentialCache()
    expect(c.capacity).toBe(DEFAULT_CREDENTIAL_CACHE)
    expect(c.has('alice', pw('secret'), 'H1')).toBe(false)
    c.add('alice', pw('secret'), 'H1')
    expect(c.has('alice', pw('secret'), 'H1')).toBe(true)
    expect(c.has('alice', pw('secreT'), 'H1')).toBe(false)
    expect(c.has('bob', pw('secret'), 'H1')).toBe(false)
  })

  it('an entry checked against another hash (password file changed) no longer counts and is dropped', () => {
    const c = new CredentialCache()
    c.add('alice', pw('secret'), 'H1')
    expect(c.has('alice', pw('secret'), 'H2')).toBe(false)
    expect(c.size).toBe(0)
    expect(c.has('alice', pw('secret'), 'H1')).toBe(false)
  })

  it('the key separates user name from password (length-prefixed): "ab"+"c" is not "a"+"bc"', () => {
    const c = new CredentialCache()
    expect(c.keyOf('ab', pw('c'))).not.toBe(c.keyOf('a', pw('bc')))
    c.add('ab', pw('c'), 'H')
    expect(c.has('a', pw('bc'), 'H')).toBe(false)
  })

  it('keys hold no password: an HMAC under a per-process random key (two caches disagree)', () => {
    const a = new CredentialCache()
    const b = new CredentialCache()
    const key = a.keyOf('alice', pw('secret'))
    expect(key).toBe(a.keyOf('alice', pw('secret')))
    expect(key).not.toBe(b.keyOf('alice', pw('secret')))
    expect(key).not.toContain('secret')
    expect(Buffer.from(key, 'base64')).toHaveLength(32)
  })

  it('holds at most `capacity` logins: the least recently used goes first', () => {
    const c = new CredentialCache(2)
    c.add('a', pw('1'), 'H')
    c.add('b', pw('1'), 'H')
    expect(c.has('a', pw('1'), 'H')).toBe(true) // a is now the most recent
    c.add('c', pw('1'), 'H')
    expect(c.size).toBe(2)
    expect(c.has('b', pw('1'), 'H')).toBe(false)
    expect(c.has('a', pw('1'), 'H')).toBe(true)
    expect(c.has('c', pw('1'), 'H')).toBe(true)
  })

  it('adding the same login again does not grow it; clear() forgets everything', () => {
    const c = new CredentialCache(2)
    c.add('a', pw('1'), 'H')
    c.add('a', pw('1'), 'H2')
    expect(c.size).toBe(1)
    expect(c.has('a', pw('1'), 'H2')).toBe(true)
    c.clear()
    expect(c.size).toBe(0)
  })

  it('capacity 0 remembers nothing', () => {
    const c = new CredentialCache(0)
    c.add('a', pw('1'), 'H')
    expect(c.size).toBe(0)
    expect(c.has('a', pw('1'), 'H')).toBe(false)
  })
})
