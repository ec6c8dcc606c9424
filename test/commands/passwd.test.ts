/**
 * `mqttctl passwd` through the real CLI: create, add, change, delete, batch mode, refusals; the file
 * it writes is accepted by Mosquitto itself (mosquitto_pub logs in with it) and never shows a hash.
 */
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCommand} from '@oclif/test'
import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {loadPasswordFile} from '../../src/broker/auth/password-file.js'
import {verifyPassword} from '../../src/broker/auth/password-hash.js'
import {updatePasswordFile} from '../../src/passwd/index.js'
import {type RunningMosquitto, startMosquittoWith} from '../helpers/mosquitto-broker.js'

const root = new URL('../..', import.meta.url).pathname
let dir: string
let mosq: RunningMosquitto | undefined
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttctl-passwd-'))
})
afterEach(async () => {
  await mosq?.stop()
  mosq = undefined
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const run = (args: string[]) => runCommand(['passwd', ...args], {root}, {testNodeEnv: 'production'})

describe('mqttctl passwd', () => {
  it('-c -b creates the file (mode 0600), adds, changes and deletes users; never prints a hash', async () => {
    const file = join(dir, 'pw1')
    const made = await run(['-c', '-b', '-I', '1000', file, 'alice', 'alice-pw'])
    expect(made.error).toBeUndefined()
    expect(made.stdout).toBe(`added user "alice" in ${file} (1 user)\n`)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toMatch(/^alice:\$7\$1000\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+==\n$/)

    writeFileSync(file, `# fleet users\n${readFileSync(file, 'utf8')}`)
    expect((await run(['-b', '-I', '1000', file, 'bob', 'bob-pw'])).stdout).toBe(`added user "bob" in ${file} (2 users)\n`)
    const changed = await run(['-b', '-I', '1000', file, 'alice', 'alice-new', '--json'])
    expect(JSON.parse(changed.stdout)).toEqual({file, user: 'alice', action: 'changed', users: 2})
    for (const out of [made.stdout, changed.stdout]) expect(out).not.toContain('$7$')
    const text = readFileSync(file, 'utf8')
    expect(text.split('\n')[0]).toBe('# fleet users') // other lines kept
    const users = loadPasswordFile(file)
    expect(await verifyPassword(users.get('alice')!.hash, Buffer.from('alice-new'))).toBe(true)
    expect(await verifyPassword(users.get('bob')!.hash, Buffer.from('bob-pw'))).toBe(true)

    expect((await run(['-D', file, 'bob'])).stdout).toBe(`deleted user "bob" from ${file} (1 user)\n`)
    expect([...loadPasswordFile(file).keys()]).toEqual(['alice'])
  })

  it('refuses an empty password', () => {
    expect(() => updatePasswordFile({file: join(dir, 'pw-empty'), user: 'u', password: Buffer.alloc(0), create: true})).toThrow('a password cannot be empty')
  })

  it('writes the default (strong) iteration count', async () => {
    const file = join(dir, 'pw-default')
    await run(['-c', '-b', file, 'u', 'p'])
    expect(readFileSync(file, 'utf8')).toMatch(/^u:\$7\$210000\$/)
  })

  const refusals: Array<[string, string[], RegExp, number]> = [
    ['missing file without -c', ['-b', 'NOFILE', 'u', 'p'], /NOFILE does not exist; use -c to create it/, 2],
    ['colon in user name', ['-c', '-b', 'FILE', 'a:b', 'p'], /user name "a:b" is not allowed: a user name cannot contain ":"/, 2],
    ['password without -b', ['-c', 'FILE', 'u', 'p'], /needs -b/, 2],
    ['-b without password', ['-c', '-b', 'FILE', 'u'], /-b needs the password/, 2],
    ['weak iterations', ['-c', '-b', '-I', '101', 'FILE', 'u', 'p'], /--iterations 101 is not allowed: expected an integer from 1,000/, 2],
    ['no terminal to ask', ['-c', 'FILE', 'u'], /no terminal to ask for the password: use -b/, 2],
  ]
  it.each(refusals)('refuses: %s', async (_name, args, message, code) => {
    const file = join(dir, `refused-${Math.random().toString(36).slice(2)}`)
    const r = await run(args.map((a) => (a === 'FILE' ? file : a === 'NOFILE' ? join(dir, 'NOFILE') : a)))
    expect(r.stderr).toMatch(message)
    expect(r.error?.oclif?.exit ?? 0).toBe(code)
  })

  it('-D of an unknown user: exit 1, file unchanged; a broken file is not edited', async () => {
    const file = join(dir, 'pw-del')
    await run(['-c', '-b', '-I', '1000', file, 'alice', 'x'])
    const before = readFileSync(file, 'utf8')
    const r = await run(['-D', file, 'nobody'])
    expect(r.stderr).toMatch(/user "nobody" is not in .*pw-del; nothing was changed/)
    expect(r.error?.oclif?.exit).toBe(1)
    expect(readFileSync(file, 'utf8')).toBe(before)
    writeFileSync(file, `${before}bob:plaintext\n`)
    const broken = await run(['-b', file, 'carol', 'x'])
    expect(broken.stderr).toMatch(/line 2: user "bob": expected a hash .*; fix or remove that line first/)
  })

  it('a file written by mqttctl passwd is accepted by Mosquitto itself', async () => {
    const file = join(dir, 'pw-mosq')
    expect((await run(['-c', '-b', '-I', '20000', file, 'sensor-1', 's3cret-pass'])).stderr).toBe('')
    expect((await run(['-b', '-I', '20000', file, 'sensor-2', 'other'])).stderr).toBe('')
    mosq = await startMosquittoWith([`password_file ${file}`, 'allow_anonymous false'])
    const pub = (user: string, pw: string) => execa('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosq!.port), '-u', user, '-P', pw, '-t', 't', '-m', 'x', '-q', '1'], {reject: false, timeout: 10_000})
    expect((await pub('sensor-1', 's3cret-pass')).exitCode).toBe(0)
    expect((await pub('sensor-2', 'other')).exitCode).toBe(0)
    const wrong = await pub('sensor-1', 'wrong')
    expect(wrong.exitCode).not.toBe(0)
    expect(wrong.stderr).toMatch(/not authori[sz]ed/i)
  })
})
