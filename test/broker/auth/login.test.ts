/**
 * Logging in through real clients with a password file written by Debian's mosquitto_passwd
 * ($7$ and $6$ users): MQTT.js on 3.1.1 and 5.0, mosquitto_pub / mosquitto_sub; wrong password,
 * unknown user and anonymous refused with the right code on each version; take-over by another user
 * refused; failed logins counted, logged without the password, slowed per address.
 */
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {closeAll, collect, connect, waitClose} from '../../helpers/mqtt.js'
import {requireMosquittoClients} from '../../helpers/mosquitto.js'
import {type AuthBroker, connackCode, mosquittoPasswd, startAuthBroker, tempDir} from './helpers.js'

const tmp = tempDir()
const pwFile = join(tmp.dir, 'passwd')
let b: AuthBroker
const logger = memoryLogger('debug')

beforeAll(async () => {
  await requireMosquittoClients()
  await mosquittoPasswd(['-c', '-b', pwFile, 'alice', 'alice-pw-1'])
  await mosquittoPasswd(['-H', 'sha512', '-b', pwFile, 'bob', 'bob-pw-2'])
  b = await startAuthBroker({passwordFile: pwFile}, {logger})
})
afterEach(closeAll)
afterAll(async () => {
  await b?.close()
  tmp.cleanup()
})

// [version, ok, bad credentials, not authorized]
const CODES: Array<[4 | 5, number, number, number]> = [
  [4, 0, 4, 5],
  [5, 0, 0x86, 0x87],
]

describe.each(CODES)('MQTT.js, protocol version %i', (version, ok, badCredentials, notAuthorized) => {
  it('$7$ and $6$ users log in; wrong password and unknown user get "bad user name or password"; anonymous "not authorized"', async () => {
    expect(await connackCode(b.url, {protocolVersion: version, username: 'alice', password: 'alice-pw-1'})).toBe(ok)
    expect(await connackCode(b.url, {protocolVersion: version, username: 'bob', password: 'bob-pw-2'})).toBe(ok)
    expect(await connackCode(b.url, {protocolVersion: version, username: 'alice', password: 'bob-pw-2'})).toBe(badCredentials)
    expect(await connackCode(b.url, {protocolVersion: version, username: 'mallory', password: 'alice-pw-1'})).toBe(badCredentials)
    expect(await connackCode(b.url, {protocolVersion: version})).toBe(notAuthorized)
  })

  it('take-over of a connected client id by another user is refused; by the same user it works', async () => {
    const id = `dev-${version}`
    const first = await connect(b.url, {protocolVersion: version, clientId: id, username: 'alice', password: 'alice-pw-1'})
    expect(await connackCode(b.url, {protocolVersion: version, clientId: id, username: 'bob', password: 'bob-pw-2'})).toBe(notAuthorized)
    expect(first.connected).toBe(true)
    const closed = waitClose(first)
    await connect(b.url, {protocolVersion: version, clientId: id, username: 'alice', password: 'alice-pw-1'})
    await closed
  })
})

describe('Debian mosquitto clients', () => {
  it('mosquitto_sub and mosquitto_pub log in with the file mosquitto_passwd wrote; wrong password refused', async () => {
    const port = String(b.ports[0])
    const sub = execa('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-u', 'bob', '-P', 'bob-pw-2', '-t', 'fleet/#', '-C', '1', '-W', '10', '-V', '5'], {reject: false})
    // Readiness: a client watching the same topic sees mosquitto_sub's subscription take effect only
    // through delivery, so publish until mosquitto_sub exits with the message.
    const deadline = Date.now() + 10_000
    let sent = 0
    while (sub.exitCode === null && Date.now() < deadline) {
      await execa('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-u', 'alice', '-P', 'alice-pw-1', '-t', 'fleet/1', '-m', 'hello', '-V', '311'], {reject: false})
      sent++
      await new Promise((r) => setTimeout(r, 50))
    }
    const result = await sub
    expect(result.exitCode).toBe(0)
    expect(result.stdout.trim()).toBe('hello')
    expect(sent).toBeGreaterThan(0)
    for (const v of ['311', '5']) {
      const wrong = await execa('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-u', 'alice', '-P', 'nope', '-t', 't', '-m', 'x', '-V', v], {reject: false, timeout: 10_000})
      expect(wrong.exitCode).not.toBe(0)
      expect(wrong.stderr).toMatch(/bad user name or password/i)
      const anon = await execa('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 't', '-m', 'x', '-V', v], {reject: false, timeout: 10_000})
      expect(anon.exitCode).not.toBe(0)
      expect(anon.stderr).toMatch(/not authori[sz]ed/i)
    }
  })
})

describe('failed logins', () => {
  it('are counted and logged with address, client id and user, never the password', async () => {
    const before = b.authorizer.failedLogins
    await connackCode(b.url, {protocolVersion: 5, clientId: 'spy', username: 'alice', password: 'Sup3r-Secret-Guess'})
    expect(b.authorizer.failedLogins).toBe(before + 1)
    expect(b.broker.stats.authFailures).toBeGreaterThan(0) // $SYS mqttctl/auth/failures, mqtt_broker_auth_failures_total
    const line = logger.lines.find((l) => l.includes('client id "spy"'))
    expect(line).toMatch(/WARN: Failed login from 127\.0\.0\.1:\d+: client id "spy", user "alice": wrong password/)
    const all = logger.lines.join('\n')
    for (const secret of ['Sup3r-Secret-Guess', 'alice-pw-1', 'bob-pw-2', '$7$', '$6$']) expect(all).not.toContain(secret)
  })

  it('are slowed per source address: after failures, even the right password waits its turn', async () => {
    const slow = await startAuthBroker({passwordFile: pwFile, slowdown: {baseMs: 300, maxMs: 300}})
    try {
      for (let i = 0; i < 3; i++) expect(await connackCode(slow.url, {protocolVersion: 5, username: 'alice', password: `bad-${i}`})).toBe(0x86)
      expect(slow.authorizer.failuresFrom('127.0.0.1')).toBe(3)
      expect(slow.authorizer.counters.loginsDelayed).toBeGreaterThanOrEqual(2)
      // Several attempts at once each wait their turn; the right password still gets in.
      const delayed = slow.authorizer.counters.loginsDelayed
      const codes = await Promise.all([0, 1, 2].map((i) => connackCode(slow.url, {protocolVersion: 5, username: 'alice', password: i === 2 ? 'alice-pw-1' : 'bad'})))
      expect(codes).toEqual([0x86, 0x86, 0])
      expect(slow.authorizer.counters.loginsDelayed).toBe(delayed + 3)
    } finally {
      await slow.close()
    }
  })
})

describe('anonymous access', () => {
  it('allowAnonymous with a password file lets clients without a user name in', async () => {
    const open = await startAuthBroker({passwordFile: pwFile, allowAnonymous: true})
    try {
      expect(await connackCode(open.url, {protocolVersion: 5})).toBe(0)
      expect(await connackCode(open.url, {protocolVersion: 5, username: 'alice', password: 'x'})).toBe(0x86)
      const c = await connect(open.url, {protocolVersion: 4})
      const inbox = collect(c)
      await c.subscribeAsync('a')
      await c.publishAsync('a', 'x')
      await inbox.waitCount(1)
    } finally {
      await open.close()
    }
  })
})
