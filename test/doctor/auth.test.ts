import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {hashPassword} from '../../src/broker/auth/password-hash.js'
import {type BrokerConfig, DEFAULT_CONFIG} from '../../src/config/index.js'
import {checkAcl, checkAnonymous} from '../../src/doctor/auth.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-auth-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const cfg = (auth: Partial<BrokerConfig['auth']>, host = '0.0.0.0'): BrokerConfig => ({...DEFAULT_CONFIG, listeners: [{host, port: 1883}], auth: {...DEFAULT_CONFIG.auth, ...auth}})

const pw = join(dir, 'passwd')
writeFileSync(pw, `alice:${hashPassword(Buffer.from('x'), 1000)}\n`)
chmodSync(pw, 0o600)
const acl = join(dir, 'acl')
writeFileSync(acl, 'user alice\ntopic alice/#\n')

describe('doctor: anonymous access and ACL', () => {
  it('reports an open broker, a refused-anonymous one, anonymous allowed beside passwords, a bad file', () => {
    expect(checkAnonymous(cfg({}))).toMatchObject({id: 'auth', status: 'warn', detail: expect.stringContaining('anyone who reaches port 1883 can connect')})
    expect(checkAnonymous(cfg({}, '127.0.0.1')).detail).toContain('(only from this machine)')
    expect(checkAnonymous(cfg({passwordFile: pw}))).toMatchObject({status: 'pass', detail: `password file ${pw} (1 users); anonymous clients refused`})
    expect(checkAnonymous(cfg({passwordFile: pw, allowAnonymous: true}))).toMatchObject({status: 'warn', detail: expect.stringContaining('anonymous clients are allowed too')})
    const bad = join(dir, 'bad')
    writeFileSync(bad, 'alice:plain\n')
    expect(checkAnonymous(cfg({passwordFile: bad}))).toMatchObject({status: 'fail', detail: expect.stringMatching(/line 1: user "alice": expected a hash/)})
    const open = join(dir, 'open')
    writeFileSync(open, `alice:${hashPassword(Buffer.from('x'), 1000)}\n`)
    chmodSync(open, 0o644)
    expect(checkAnonymous(cfg({passwordFile: open}))).toMatchObject({status: 'warn', fix: `chmod 600 ${open} (owned by the user the broker runs as)`})
  })

  it('reports no ACL, an ACL without passwords, a good ACL, a bad ACL line', () => {
    expect(checkAcl(cfg({}))).toMatchObject({id: 'acl', status: 'warn', detail: expect.stringContaining('every client may publish and subscribe to every topic')})
    expect(checkAcl(cfg({aclFile: acl}))).toMatchObject({status: 'warn', detail: expect.stringContaining('any client can claim any user name')})
    expect(checkAcl(cfg({aclFile: acl, passwordFile: pw}))).toMatchObject({status: 'pass', detail: `ACL file ${acl} (1 rules); everything it does not grant is denied`})
    const bad = join(dir, 'bad-acl')
    writeFileSync(bad, 'topic read a/#/b\n')
    expect(checkAcl(cfg({aclFile: bad, passwordFile: pw}))).toMatchObject({status: 'fail', detail: expect.stringContaining('line 1')})
  })
})
