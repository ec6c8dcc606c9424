/**
 * auth/from-config.ts: AllowAll when the configuration asks for nothing, a FileAuthorizer over auth.*
 * otherwise (a bad file is one AuthFileError line), and the reloadable check SIGHUP relies on.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AllowAll} from '../../../src/broker/auth/authorizer.js'
import {AuthFileError} from '../../../src/broker/auth/files.js'
import {FileAuthorizer} from '../../../src/broker/auth/file-authorizer.js'
import {authorizerFromConfig, isReloadable} from '../../../src/broker/auth/from-config.js'
import {hashPassword} from '../../../src/broker/auth/password-hash.js'
import {silentLogger} from '../../../src/broker/log.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {type BrokerConfig, DEFAULT_CONFIG} from '../../../src/config/index.js'
import {ManualClock} from '../../helpers/clock.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttctl-fromcfg-'))
  writeFileSync(join(dir, 'passwd'), `alice:${hashPassword(Buffer.from('pw'), 1000)}\n`)
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic alice/#\n')
  writeFileSync(join(dir, 'bad-acl'), 'user alice\nfrobnicate everything\n')
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const make = (auth: Partial<BrokerConfig['auth']>) =>
  authorizerFromConfig({...DEFAULT_CONFIG, auth: {...DEFAULT_CONFIG.auth, ...auth}}, {clock: new ManualClock(0), logger: silentLogger, counters: new BrokerStats()})

describe('authorizerFromConfig', () => {
  it('no password file, no ACL, anonymous allowed (or unset): AllowAll, which is not reloadable', () => {
    for (const a of [make({}), make({allowAnonymous: true})]) {
      expect(a).toBeInstanceOf(AllowAll)
      expect(a.checksAccess).toBe(false)
      expect(isReloadable(a)).toBe(false)
    }
  })

  it('a password file, an ACL, or anonymous refused: a reloadable FileAuthorizer', () => {
    const cases = [make({passwordFile: join(dir, 'passwd')}), make({aclFile: join(dir, 'acl')}), make({allowAnonymous: false})]
    for (const a of cases) {
      expect(a).toBeInstanceOf(FileAuthorizer)
      expect(isReloadable(a)).toBe(true)
    }
    expect(cases[1].checksAccess).toBe(true)
  })

  it('anonymous refused without a password file refuses a client without a user name (0x87)', async () => {
    const a = make({allowAnonymous: false})
    const out = await a.authenticate({clientId: 'c', remoteAddress: '127.0.0.1:1', protocolVersion: 5, tls: false})
    expect(out).toEqual({ok: false, reasonCode: 0x87})
  })

  it('a bad ACL file or a missing password file throws one AuthFileError line naming the file', () => {
    expect(() => make({aclFile: join(dir, 'bad-acl')})).toThrow(AuthFileError)
    expect(() => make({aclFile: join(dir, 'bad-acl')})).toThrow(/bad-acl.*2/)
    expect(() => make({passwordFile: join(dir, 'missing')})).toThrow(/missing/)
  })
})
