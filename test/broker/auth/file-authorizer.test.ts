import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AuthOutcome, ConnectCredentials} from '../../../src/broker/auth/authorizer.js'
import {FileAuthorizer} from '../../../src/broker/auth/file-authorizer.js'
import {AuthFileError} from '../../../src/broker/auth/files.js'
import {hashPassword} from '../../../src/broker/auth/password-hash.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {ManualClock} from '../../helpers/clock.js'

let dir: string
let pwFile: string
let aclFile: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttctl-authz-'))
  pwFile = join(dir, 'passwd')
  aclFile = join(dir, 'acl')
  writeFileSync(pwFile, `alice:${hashPassword(Buffer.from('a-pass'), 1000)}\nbob:${hashPassword(Buffer.from('b-pass'), 1000)}\n`)
  writeFileSync(aclFile, 'user alice\ntopic alice/#\nuser bob\ntopic read #\n')
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const creds = (username: string | undefined, password?: string, remoteAddress = '10.0.0.1:5000', clientId = 'c1'): ConnectCredentials => ({
  clientId,
  username,
  password: password === undefined ? undefined : Buffer.from(password),
  remoteAddress,
  protocolVersion: 5,
  tls: false,
})

/** Settles a possibly-pending promise, advancing the manual clock in steps until it does. */
async function settle(p: AuthOutcome | Promise<AuthOutcome>, clock?: ManualClock, stepMs = 100, maxSteps = 1000): Promise<AuthOutcome> {
  let done: AuthOutcome | undefined
  Promise.resolve(p).then((v) => (done = v))
  for (let i = 0; i < maxSteps && done === undefined; i++) {
    await new Promise((r) => setImmediate(r))
    if (done === undefined && clock) clock.advance(stepMs)
  }
  await new Promise((r) => setTimeout(r, 0))
  for (let i = 0; i < 200 && done === undefined; i++) await new Promise((r) => setTimeout(r, 5))
  if (done === undefined) throw new Error('authentication did not settle')
  return done
}

describe('FileAuthorizer: authentication', () => {
  it('accepts the right password, refuses wrong password (0x86), unknown user (0x86) and anonymous (0x87)', async () => {
    const log = memoryLogger('debug')
    const a = new FileAuthorizer({passwordFile: pwFile, logger: log, slowdown: {baseMs: 0}})
    expect(a.allowAnonymous).toBe(false)
    expect(await settle(a.authenticate(creds('alice', 'a-pass')))).toMatchObject({ok: true, identity: {clientId: 'c1', username: 'alice'}})
    expect(await settle(a.authenticate(creds('alice', 'guess-7Q')))).toEqual({ok: false, reasonCode: 0x86})
    expect(await settle(a.authenticate(creds('nobody', 'a-pass')))).toEqual({ok: false, reasonCode: 0x86})
    expect(await settle(a.authenticate(creds('alice')))).toEqual({ok: false, reasonCode: 0x86})
    expect(await settle(a.authenticate(creds(undefined)))).toEqual({ok: false, reasonCode: 0x87})
    expect(a.failedLogins).toBe(4)
    const lines = log.lines.join('\n')
    expect(lines).toContain('Failed login from 10.0.0.1:5000: client id "c1", user "alice": wrong password')
    expect(lines).toContain('user "nobody": unknown user')
    expect(lines).toContain('no user name: anonymous clients are not allowed')
    for (const secret of ['a-pass', 'guess-7Q', 'b-pass']) expect(lines).not.toContain(secret)
  })

  it('allowAnonymous: default true without a password file, false with one, explicit wins', async () => {
    expect(new FileAuthorizer({}).allowAnonymous).toBe(true)
    expect(new FileAuthorizer({passwordFile: pwFile}).allowAnonymous).toBe(false)
    const open = new FileAuthorizer({passwordFile: pwFile, allowAnonymous: true})
    expect(await settle(open.authenticate(creds(undefined)))).toMatchObject({ok: true})
    // Without a password file a user name is taken as given (as Mosquitto does).
    expect(await settle(new FileAuthorizer({allowAnonymous: false}).authenticate(creds('anyone', 'x')))).toMatchObject({ok: true, identity: {username: 'anyone'}})
  })

  it('caches a verified login under an HMAC key, and forgets it when the file changes the hash', async () => {
    const file = join(dir, 'passwd-cache')
    writeFileSync(file, `u:${hashPassword(Buffer.from('one'), 1000)}\n`)
    const a = new FileAuthorizer({passwordFile: file})
    expect(await settle(a.authenticate(creds('u', 'one')))).toMatchObject({ok: true})
    expect(a.cachedLogins).toBe(1)
    expect(await settle(a.authenticate(creds('u', 'one', '10.0.0.2:1')))).toMatchObject({ok: true})
    expect(a.cachedLogins).toBe(1)
    writeFileSync(file, `u:${hashPassword(Buffer.from('two'), 1000)}\n`)
    expect(a.reload().ok).toBe(true)
    expect(await settle(a.authenticate(creds('u', 'one')))).toEqual({ok: false, reasonCode: 0x86})
    expect(await settle(a.authenticate(creds('u', 'two')))).toMatchObject({ok: true})
    const none = new FileAuthorizer({passwordFile: file, credentialCache: 0})
    expect(await settle(none.authenticate(creds('u', 'two')))).toMatchObject({ok: true})
    expect(none.cachedLogins).toBe(0)
  })

  it('concurrent logins with the same credentials share one hash; later ones hit the cache', async () => {
    const a = new FileAuthorizer({passwordFile: pwFile})
    const outcomes = await Promise.all(Array.from({length: 10}, (_, i) => settle(a.authenticate(creds('bob', 'b-pass', `10.0.1.${i}:1`)))))
    for (const o of outcomes) expect(o).toMatchObject({ok: true, identity: {username: 'bob'}})
    expect(a.hashesComputed).toBe(1)
    expect(await settle(a.authenticate(creds('bob', 'b-pass')))).toMatchObject({ok: true})
    expect(a.hashesComputed).toBe(1)
    expect(await settle(a.authenticate(creds('bob', 'other')))).toEqual({ok: false, reasonCode: 0x86})
    expect(a.hashesComputed).toBe(2)
  })

  it('slows failed logins per source address: attempts wait their turn, one at a time', async () => {
    const clock = new ManualClock(1_000_000)
    const a = new FileAuthorizer({passwordFile: pwFile, clock, slowdown: {baseMs: 1000, maxMs: 8000}})
    expect(await settle(a.authenticate(creds('alice', 'bad1')))).toEqual({ok: false, reasonCode: 0x86})
    expect(a.failuresFrom('10.0.0.1')).toBe(1)
    // Two attempts at once from the same address: the second waits one more delay after the first.
    let first: AuthOutcome | undefined
    let second: AuthOutcome | undefined
    void Promise.resolve(a.authenticate(creds('alice', 'bad2'))).then((v) => (first = v))
    void Promise.resolve(a.authenticate(creds('alice', 'a-pass', '10.0.0.1:6000'))).then((v) => (second = v))
    await new Promise((r) => setTimeout(r, 20))
    expect(first).toBeUndefined()
    expect(second).toBeUndefined()
    // Another address is not slowed.
    expect(await settle(a.authenticate(creds('bob', 'b-pass', '10.0.0.9:1')))).toMatchObject({ok: true})
    clock.advance(999)
    await new Promise((r) => setTimeout(r, 20))
    expect(first).toBeUndefined()
    clock.advance(1)
    await settle(Promise.resolve().then(async () => {
      for (let i = 0; i < 200 && first === undefined; i++) await new Promise((r) => setTimeout(r, 5))
      return {ok: true} as AuthOutcome
    }))
    expect(first).toEqual({ok: false, reasonCode: 0x86})
    expect(second).toBeUndefined() // its slot is one delay after the first's
    expect(a.counters.loginsDelayed).toBe(2)
    expect(await settle(Promise.resolve().then(async () => {
      for (let i = 0; i < 100 && second === undefined; i++) {
        clock.advance(500)
        await new Promise((r) => setTimeout(r, 5))
      }
      return second!
    }))).toMatchObject({ok: true})
  })

  it('refuses at once (0x89) beyond the attempts allowed to wait per address', async () => {
    const clock = new ManualClock(0)
    const a = new FileAuthorizer({passwordFile: pwFile, clock, slowdown: {baseMs: 1000, maxWaiting: 2}})
    await settle(a.authenticate(creds('alice', 'bad')))
    const waiting = [a.authenticate(creds('alice', 'x')), a.authenticate(creds('alice', 'y'))]
    expect(await settle(a.authenticate(creds('alice', 'a-pass')))).toEqual({ok: false, reasonCode: 0x89})
    for (const w of waiting) expect(await settle(w, clock)).toEqual({ok: false, reasonCode: 0x86})
  })
})

describe('FileAuthorizer: access and take-over', () => {
  it('applies the ACL and counts refused subscriptions', () => {
    const a = new FileAuthorizer({passwordFile: pwFile, aclFile})
    expect(a.checksAccess).toBe(true)
    const alice = {clientId: 'c1', username: 'alice'}
    expect(a.canPublish(alice, 'alice/x')).toBe(true)
    expect(a.canPublish(alice, 'bob/x')).toBe(false)
    expect(a.canRead(alice, 'bob/x')).toBe(false)
    expect(a.canSubscribe(alice, 'alice/#')).toBe(true)
    expect(a.canSubscribe(alice, '#')).toBe(false)
    expect(a.counters.subscribeDenied).toBe(1)
    expect(new FileAuthorizer({passwordFile: pwFile}).checksAccess).toBe(false)
  })

  it('take-over: same user only with a password file (configurable), anyone without', () => {
    const a = new FileAuthorizer({passwordFile: pwFile})
    expect(a.canTakeOver({clientId: 'x', username: 'alice'}, {clientId: 'x', username: 'alice'})).toBe(true)
    expect(a.canTakeOver({clientId: 'x', username: 'bob'}, {clientId: 'x', username: 'alice'})).toBe(false)
    expect(a.counters.takeOversRefused).toBe(1)
    expect(new FileAuthorizer({passwordFile: pwFile, takeOver: 'any'}).canTakeOver({clientId: 'x', username: 'bob'}, {clientId: 'x', username: 'alice'})).toBe(true)
    expect(new FileAuthorizer({}).canTakeOver({clientId: 'x', username: 'bob'}, {clientId: 'x', username: 'alice'})).toBe(true)
  })

  it('reload: a bad new file keeps the old one and says why; a good one takes effect for connected clients', () => {
    const acl2 = join(dir, 'acl-reload')
    writeFileSync(acl2, 'user alice\ntopic read a/#\n')
    const a = new FileAuthorizer({aclFile: acl2})
    const alice = {clientId: 'c1', username: 'alice'}
    expect(a.canRead(alice, 'a/1')).toBe(true)
    writeFileSync(acl2, 'user alice\ntopic read b/#\ntopic read a/#/x\n')
    const bad = a.reload()
    expect(bad.ok).toBe(false)
    expect(bad.lines[0]).toMatch(/^kept the previous ACL file \(1 rules\): auth\.aclFile ".*acl-reload" line 3: /)
    expect(a.canRead(alice, 'a/1')).toBe(true)
    writeFileSync(acl2, 'user alice\ntopic read b/#\n')
    expect(a.reload()).toEqual({ok: true, lines: [`ACL file ${acl2} reloaded: 1 rules`]})
    expect(a.canRead(alice, 'a/1')).toBe(false)
    expect(a.canRead(alice, 'b/1')).toBe(true)
  })

  it('a bad file at construction throws one line with file and line', () => {
    const f = join(dir, 'bad-acl')
    writeFileSync(f, '\n\ntopic read +foo\n')
    expect(() => new FileAuthorizer({aclFile: f})).toThrow(AuthFileError)
    expect(() => new FileAuthorizer({aclFile: f})).toThrow(/^auth\.aclFile ".*bad-acl" line 3: "\+foo": '\+' must occupy a whole level$/)
  })
})
