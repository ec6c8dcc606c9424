/** --password-file, --acl-file, --allow-anonymous and --ws-port: parsed, merged into the configuration, checked at load. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {hashPassword} from '../../src/broker/auth/password-hash.js'
import {loadBrokerConfig, parseBrokerOptions, toRuntimeArgs} from '../../src/control/options.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-authflags-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const pw = join(dir, 'passwd')
writeFileSync(pw, `a:${hashPassword(Buffer.from('x'), 1000)}\n`)
const acl = join(dir, 'acl')
writeFileSync(acl, 'user a\ntopic a/#\n')

describe('auth and WebSocket flags', () => {
  it('set auth.* and add a WebSocket listener on the first listener\'s host; round-trip to the runtime', () => {
    const settings = parseBrokerOptions({'password-file': pw, 'acl-file': acl, 'allow-anonymous': true, 'ws-port': '8080', host: '127.0.0.1', port: '1884'})
    const {config, sources} = loadBrokerConfig(settings)
    expect(config.auth).toMatchObject({passwordFile: pw, aclFile: acl, allowAnonymous: true, takeOver: 'same-user'})
    expect(config.listeners).toEqual([{host: '127.0.0.1', port: 1884}, {host: '127.0.0.1', port: 8080, websocket: true}])
    expect(sources['auth.passwordFile']).toBe('flag')
    expect(sources.listeners).toBe('flag')
    expect(toRuntimeArgs(settings)).toEqual(expect.arrayContaining(['--password-file', pw, '--acl-file', acl, '--allow-anonymous', '--ws-port', '8080']))
  })

  it('--ws-port edits the configuration\'s plain WebSocket listener instead of adding one', () => {
    const file = join(dir, 'broker.json')
    writeFileSync(file, JSON.stringify({listeners: [{host: '0.0.0.0', port: 1883}, {host: '0.0.0.0', port: 9001, websocket: true, path: '/ws'}]}))
    const {config} = loadBrokerConfig(parseBrokerOptions({config: file, 'ws-port': '9002'}))
    expect(config.listeners[1]).toEqual({host: '0.0.0.0', port: 9002, websocket: true, path: '/ws'})
  })

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{'ws-port': '1883'}, /--ws-port "1883" is not allowed: listeners\[0\] \(0\.0\.0\.0:1883\) already uses port 1883/],
    [{'ws-port': '70000'}, /--ws-port "70000" is not allowed: expected an integer from 0 to 65,535/],
    [{'password-file': join(dir, 'missing')}, /^--password-file ".*missing": cannot be read: no such file$/],
    [{'acl-file': pw}, /^--acl-file ".*passwd" line 1: unknown keyword "a:\$7\$1000\$/],
  ]
  it.each(bad)('refuses %j with one line', (raw, message) => {
    expect(() => loadBrokerConfig(parseBrokerOptions(raw))).toThrow(message)
  })

  it('configuration file: auth keys validated, websocket path checked, errors name the file', () => {
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({auth: {allowAnonymous: 'yes'}}))
    expect(() => loadBrokerConfig(parseBrokerOptions({config: file}))).toThrow(/auth\.allowAnonymous = "yes" is not allowed: expected true or false, or leave it out/)
    writeFileSync(file, JSON.stringify({listeners: [{host: '0.0.0.0', port: 9001, websocket: true, path: 'mqtt'}]}))
    expect(() => loadBrokerConfig(parseBrokerOptions({config: file}))).toThrow(/listeners\[0\]\.path = "mqtt" is not allowed: expected an HTTP path such as "\/mqtt"/)
    writeFileSync(file, JSON.stringify({auth: {aclFile: acl, passwordFile: join(dir, 'nope')}}))
    expect(() => loadBrokerConfig(parseBrokerOptions({config: file}))).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: auth\\.passwordFile ".*nope": cannot be read: no such file$`))
    writeFileSync(file, JSON.stringify({auth: {takeover: 'any'}}))
    expect(() => loadBrokerConfig(parseBrokerOptions({config: file}))).toThrow(/unknown key "auth\.takeover"/)
  })
})
