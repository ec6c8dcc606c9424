import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthFileError} from '../../../src/broker/auth/files.js'
import {loadPasswordFile, parsePasswordLines} from '../../../src/broker/auth/password-file.js'
import {hashPassword, parseHash, verifyPassword} from '../../../src/broker/auth/password-hash.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttctl-pw-'))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

async function mosquittoPasswd(args: string[]): Promise<void> {
  const r = await execa('mosquitto_passwd', args, {reject: false})
  if (r.exitCode !== 0) throw new Error(`mosquitto_passwd ${args.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}; install Debian's mosquitto package`)
}

describe('password file written by mosquitto_passwd', () => {
  it('reads $7$ (default) and $6$ (-H sha512) users and verifies their passwords', async () => {
    const file = join(dir, 'mosq')
    await mosquittoPasswd(['-c', '-b', file, 'alice', 'alice-secret'])
    await mosquittoPasswd(['-H', 'sha512', '-b', file, 'bob', 'bob secret with spaces'])
    await mosquittoPasswd(['-b', file, 'carol', 'ünïcødé-пароль'])
    const users = loadPasswordFile(file)
    expect([...users.keys()]).toEqual(['alice', 'bob', 'carol'])
    expect(users.get('alice')!.hash.kind).toBe(7)
    expect(users.get('bob')!.hash.kind).toBe(6)
    expect(await verifyPassword(users.get('alice')!.hash, Buffer.from('alice-secret'))).toBe(true)
    expect(await verifyPassword(users.get('alice')!.hash, Buffer.from('alice-secreT'))).toBe(false)
    expect(await verifyPassword(users.get('bob')!.hash, Buffer.from('bob secret with spaces'))).toBe(true)
    expect(await verifyPassword(users.get('bob')!.hash, Buffer.from('bob'))).toBe(false)
    expect(await verifyPassword(users.get('carol')!.hash, Buffer.from('ünïcødé-пароль'))).toBe(true)
    expect(await verifyPassword(users.get('carol')!.hash, Buffer.alloc(0))).toBe(false)
  })
})

describe('hashPassword', () => {
  it('writes $7$ with the iteration count asked and a fresh salt', async () => {
    const a = hashPassword(Buffer.from('pw'), 1000)
    const b = hashPassword(Buffer.from('pw'), 1000)
    expect(a).toMatch(/^\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/)
    expect(a).not.toBe(b)
    const parsed = parseHash(a)
    if (typeof parsed === 'string') throw new Error(parsed)
    expect(await verifyPassword(parsed, Buffer.from('pw'))).toBe(true)
    expect(() => hashPassword(Buffer.from('pw'), 0)).toThrow(RangeError)
  })
})

describe('bad password files: one line naming file and line', () => {
  const good = hashPassword(Buffer.from('x'), 10)
  const rows: Array<[string, string[], RegExp]> = [
    ['plain-text password', ['# users', 'alice:secret'], /line 2: user "alice": expected a hash written by mosquitto_passwd/],
    ['no colon', ['alice'], /line 1: expected user:hash/],
    ['empty user', [`:${good}`], /line 1: the user name is empty/],
    ['duplicate', [`a:${good}`, '', `a:${good}`], /line 3: user "a" is already defined on line 1/],
    ['bad iterations', ['a:$7$0$AAAA$AAAA'], /line 1: user "a": the iteration count "0"/],
    ['short hash', ['a:$7$10$AAAAAAAAAAAAAAAA$AAAA'], /line 1: user "a": the hash has 3 bytes, expected 64/],
    ['not base64', ['a:$6$!!$AAAA'], /line 1: user "a": the salt is not base64/],
    ['control character', [`a\u0001b:${good}`], /line 1: a user name cannot contain control characters/],
  ]
  it.each(rows)('%s', (_name, lines, message) => {
    let error: unknown
    try {
      parsePasswordLines(lines, 'auth.passwordFile', '/etc/passwd-file')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AuthFileError)
    expect((error as Error).message).toMatch(/^auth\.passwordFile "\/etc\/passwd-file" line \d+: /)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain('\n')
  })

  it('skips blank lines, comments and CRLF endings', () => {
    const users = parsePasswordLines(['', '  # comment', `a:${good}\r`.replace('\r', '')], 's', 'p')
    expect(users.size).toBe(1)
  })

  it('names a missing or unreadable file', () => {
    expect(() => loadPasswordFile(join(dir, 'nope'))).toThrow(/^auth\.passwordFile ".*nope": cannot be read: no such file$/)
    expect(() => loadPasswordFile(dir)).toThrow(/cannot be read: it is a directory/)
    if (process.getuid?.() !== 0) {
      const f = join(dir, 'locked')
      writeFileSync(f, `a:${good}\n`)
      chmodSync(f, 0o000)
      expect(() => loadPasswordFile(f)).toThrow(/cannot be read: permission denied/)
    }
  })

  it('reads CRLF files (written on Windows)', () => {
    const f = join(dir, 'crlf')
    writeFileSync(f, `# x\r\na:${good}\r\nb:${good}\r\n`)
    expect([...loadPasswordFile(f).keys()]).toEqual(['a', 'b'])
  })
})
