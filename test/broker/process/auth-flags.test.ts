/**
 * process/auth-flags.ts on its own: --ws-port's listener edit (add, reuse, port clashes with the exact
 * one-line message) and the start-time check of the password and ACL files (one ConfigError line
 * naming the flag or the configuration file's key, the file and the line).
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {hashPassword} from '../../../src/broker/auth/password-hash.js'
import {applyWsPort, checkAuthFiles} from '../../../src/broker/process/auth-flags.js'
import {ConfigError, DEFAULT_CONFIG, type ListenerConfig} from '../../../src/config/index.js'
import type {LoadedConfig} from '../../../src/config/load.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-authflags4-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const file = (name: string, text: string): string => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const goodPw = file('passwd', `a:${hashPassword(Buffer.from('x'), 1000)}\n`)
const badPw = file('bad-passwd', `a:${hashPassword(Buffer.from('x'), 1000)}\nno-colon-here\n`)
const goodAcl = file('acl', 'user a\ntopic a/#\n')
const badAcl = file('bad-acl', 'user a\ntopic a/#\nwhat is this\n')

describe('applyWsPort', () => {
  it('adds a plain WebSocket listener on the first listener\'s host when there is none', () => {
    const ls: ListenerConfig[] = [{host: '10.0.0.5', port: 1883}, {host: '10.0.0.5', port: 8883, tls: {cert: 'c', key: 'k'}}]
    applyWsPort(ls, 8080)
    expect(ls[2]).toEqual({host: '10.0.0.5', port: 8080, websocket: true})
  })

  it('edits the port of the first plain WebSocket listener and keeps its path; a wss one is not it', () => {
    const ls: ListenerConfig[] = [
      {host: '0.0.0.0', port: 1883},
      {host: '0.0.0.0', port: 9443, websocket: true, tls: {cert: 'c', key: 'k'}},
      {host: '0.0.0.0', port: 9001, websocket: true, path: '/ws'},
    ]
    applyWsPort(ls, 9002)
    expect(ls).toHaveLength(3)
    expect(ls[2]).toEqual({host: '0.0.0.0', port: 9002, websocket: true, path: '/ws'})
    expect(ls[1].port).toBe(9443)
  })

  it('refuses a port another listener uses on the same or an any-address host, with one line', () => {
    const ls: ListenerConfig[] = [{host: '0.0.0.0', port: 1883}]
    expect(() => applyWsPort(ls, 1883)).toThrow(new ConfigError('listeners[ws]', '--ws-port "1883" is not allowed: listeners[0] (0.0.0.0:1883) already uses port 1883; choose another --ws-port'))
    const tls: ListenerConfig[] = [{host: '127.0.0.1', port: 1883}, {host: '127.0.0.1', port: 8883, tls: {cert: 'c', key: 'k'}}]
    expect(() => applyWsPort(tls, 8883)).toThrow('listeners[1] (127.0.0.1:8883 (tls)) already uses port 8883')
    expect(tls).toHaveLength(2) // nothing half-applied
    const any: ListenerConfig[] = [{host: '127.0.0.1', port: 1883}, {host: '0.0.0.0', port: 9001}]
    expect(() => applyWsPort(any, 9001)).toThrow('listeners[1] (0.0.0.0:9001) already uses port 9001') // 0.0.0.0 covers 127.0.0.1
  })

  it('allows the same port on another specific host, and port-0 listeners never clash', () => {
    const ls: ListenerConfig[] = [{host: '127.0.0.1', port: 1883}, {host: '10.0.0.1', port: 9001}, {host: '127.0.0.1', port: 0}]
    applyWsPort(ls, 9001)
    expect(ls[3]).toEqual({host: '127.0.0.1', port: 9001, websocket: true})
    const zero: ListenerConfig[] = [{host: '127.0.0.1', port: 0}]
    applyWsPort(zero, 0)
    expect(zero).toHaveLength(2)
  })
})

const loaded = (auth: {passwordFile?: string; aclFile?: string}, fromFile?: string): LoadedConfig => ({
  config: {...DEFAULT_CONFIG, auth: {...DEFAULT_CONFIG.auth, ...auth}},
  sources: fromFile === undefined ? {} : {'auth.passwordFile': 'file', 'auth.aclFile': 'file'},
  file: fromFile,
})

describe('checkAuthFiles', () => {
  it('returns the configuration unchanged when the files load (or none is set)', () => {
    const l = loaded({passwordFile: goodPw, aclFile: goodAcl})
    expect(checkAuthFiles(l)).toBe(l)
    expect(checkAuthFiles(loaded({}))).toBeDefined()
  })

  it('a bad file given by flag is one ConfigError naming the flag, the file and the line (exit code 2)', () => {
    const err = (() => {
      try {
        checkAuthFiles(loaded({passwordFile: badPw}), {'password-file': badPw})
      } catch (e) {
        return e as ConfigError
      }
    })()
    expect(err).toBeInstanceOf(ConfigError)
    expect(err!.message).toMatch(new RegExp(`^--password-file ${JSON.stringify(badPw).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line 2: `))
    expect(err!.message.split('\n')).toHaveLength(1)
    expect(err!.key).toBe('--password-file')
    expect(err!.exitCode).toBe(2)
    expect(() => checkAuthFiles(loaded({aclFile: badAcl}), {'acl-file': badAcl})).toThrow(/^--acl-file ".*bad-acl" line 3: /)
  })

  it('a bad file from the configuration file names that file and the key', () => {
    const cfg = join(dir, 'broker.json')
    expect(() => checkAuthFiles(loaded({aclFile: badAcl}, cfg))).toThrow(new RegExp(`^${cfg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: auth\\.aclFile ".*bad-acl" line 3: `))
    expect(() => checkAuthFiles(loaded({passwordFile: join(dir, 'missing')}))).toThrow(/^auth\.passwordFile ".*missing": /)
  })
})
