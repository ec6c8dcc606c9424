import {describe, expect, it} from 'vitest'
import {checkClusterConfig, checkNatsUrl, parseNatsUrls} from '../../../src/broker/cluster/config.js'
import {DEFAULT_CONFIG} from '../../../src/config/index.js'

describe('NATS URLs', () => {
  it.each([
    ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4222'],
    ['nats://host', 'nats://host:4222'],
    ['host:4333', 'nats://host:4333'],
    ['tls://nats.example.com:4443', 'tls://nats.example.com:4443'],
    ['nats://user:secret@host:1', 'nats://user:secret@host:1'],
    ['nats://[::1]:4222', 'nats://[::1]:4222'],
    ['  nats://a:1  ', 'nats://a:1'],
  ])('%j -> %j', (text, url) => {
    expect(checkNatsUrl(text)).toBe(url)
  })

  it.each([
    ['', /empty URL/],
    ['http://host:4222', /scheme http \(only nats:\/\/ and tls:\/\/\)/],
    ['nats://host:0', /port outside 1 to 65,535/],
    ['nats://host:99999', /not a URL|port outside/],
    ['nats://host:4222/path', /a path, query or fragment/],
    ['nats://host:4222?x=1', /a path, query or fragment/],
    ['nats://', /not a URL|no host/],
    [`nats://${'a'.repeat(2000)}`, /longer than 1024 characters/],
  ])('refuses %j in one line naming it', (text, why) => {
    let message = ''
    try {
      checkNatsUrl(text)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(why)
    expect(message).toMatch(/^--cluster ".*" is not allowed: .*; expected nats:\/\/host:4222/)
    expect(message).not.toContain('\n')
  })

  it('a list: each checked, at most 32', () => {
    expect(parseNatsUrls('nats://a:1, nats://b:2')).toEqual(['nats://a:1', 'nats://b:2'])
    expect(() => parseNatsUrls('nats://a:1,http://b')).toThrow(/"http:\/\/b" is not allowed/)
    expect(() => parseNatsUrls(Array.from({length: 33}, (_, i) => `nats://h${i}:1`).join(','))).toThrow(/at most 32/)
  })
})

describe('cluster configuration', () => {
  it('normalises the servers and checks the prefix and node name', () => {
    expect(checkClusterConfig({...DEFAULT_CONFIG.cluster, servers: ['nats://h']}).servers).toEqual(['nats://h:4222'])
    expect(() => checkClusterConfig({...DEFAULT_CONFIG.cluster, servers: ['ftp://h']})).toThrow(/^cluster.servers "ftp:\/\/h" is not allowed/)
    expect(() => checkClusterConfig({...DEFAULT_CONFIG.cluster, subjectPrefix: 'a b'})).toThrow(/cluster.subjectPrefix "a b" is not allowed/)
    expect(() => checkClusterConfig({...DEFAULT_CONFIG.cluster, subjectPrefix: 'a.>.b'})).toThrow(/not allowed/)
    expect(() => checkClusterConfig({...DEFAULT_CONFIG.cluster, nodeName: 'bad name'})).toThrow(/cluster.nodeName "bad name" is not allowed/)
    expect(checkClusterConfig({...DEFAULT_CONFIG.cluster, subjectPrefix: 'site1.mqtt', nodeName: 'node-1.eu'}).subjectPrefix).toBe('site1.mqtt')
  })
})
