/**
 * SIGHUP end to end through the real CLI: `mqttctl reload` on a detached broker with a password
 * file, an ACL file, TLS and WebSocket listeners reloads all of them without dropping a connection,
 * even while messages flow; a bad new file is kept out (exit 1, the line named) and the old one still
 * applies; a foreground `mqttctl start` passes SIGHUP on as SIGHUP (the broker keeps running); a bad
 * file at start stops it with one line naming file and line.
 */
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {connect as tlsConnect} from 'node:tls'
import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, waitFor as waitMqtt} from '../helpers/mqtt.js'
import {freePort, ROOT, Sandbox, waitFor} from './helpers.js'

const box = new Sandbox()
afterEach(async () => {
  await closeAll()
  await box.cleanup()
})

async function passwd(file: string, user: string, pw: string, create = false): Promise<void> {
  const r = await box.cli(['passwd', ...(create ? ['-c'] : []), '-b', '-I', '1000', file, user, pw])
  if (r.exitCode !== 0) throw new Error(r.stderr)
}

async function devCa(dir: string): Promise<void> {
  const r = await box.cli(['tls', 'dev-ca', '--out', dir])
  if (r.exitCode !== 0) throw new Error(r.stderr)
}

function peerFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({host: '127.0.0.1', port, servername: 'localhost', ca}, () => {
      resolve(s.getPeerCertificate().fingerprint256)
      s.destroy()
    })
    s.on('error', reject)
  })
}

describe('reload (SIGHUP)', () => {
  it('mqttctl reload: password file, ACL file and TLS certificate take effect, connections and message flow survive; a bad file is kept out', async () => {
    const dir = box.dir()
    const data = join(dir, 'data')
    const pw = join(dir, 'passwd')
    const acl = join(dir, 'acl')
    await passwd(pw, 'alice', 'alice-pw', true)
    writeFileSync(acl, 'user alice\ntopic readwrite load/#\ntopic readwrite a/#\nuser bob\ntopic readwrite b/#\n')
    await devCa(join(dir, 'ca1'))
    await devCa(join(dir, 'ca2'))
    copyFileSync(join(dir, 'ca1', 'server.pem'), join(dir, 'server.pem'))
    copyFileSync(join(dir, 'ca1', 'server.key'), join(dir, 'server.key'))
    const [port, tlsPort, wsPort] = [await freePort(), await freePort(), await freePort()]
    const started = await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--password-file', pw, '--acl-file', acl, '--tls-port', String(tlsPort), '--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), '--ws-port', String(wsPort)])
    expect(started.stderr).toBe('')
    expect(started.exitCode).toBe(0)
    const url = `mqtt://127.0.0.1:${port}`

    // Connections that must survive every reload: TCP, TLS and WebSocket, with a stream of QoS 1 messages.
    const sub = await connect(url, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    const pub = await connect(`ws://127.0.0.1:${wsPort}/mqtt`, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    const overTls = await connect(`mqtts://127.0.0.1:${tlsPort}`, {protocolVersion: 4, username: 'alice', password: 'alice-pw', ca: readFileSync(join(dir, 'ca1', 'ca.pem')), servername: 'localhost'})
    let closes = 0
    for (const c of [sub, pub, overTls]) c.on('close', () => closes++)
    const inbox = collect(sub)
    await sub.subscribeAsync('load/#', {qos: 1})
    let sent = 0
    let flowing = true
    const flow = (async () => {
      while (flowing && sent < 5_000) {
        await pub.publishAsync('load/x', String(sent), {qos: 1})
        sent++
      }
    })()
    await waitMqtt(() => inbox.messages.length > 100, 10_000, 'messages flowing')

    // Bob appears in the password file, bob's rules in the ACL, a new certificate: one reload.
    const ca1 = readFileSync(join(dir, 'ca1', 'ca.pem'))
    const ca2 = readFileSync(join(dir, 'ca2', 'ca.pem'))
    const before = await peerFingerprint(tlsPort, ca1)
    await passwd(pw, 'bob', 'bob-pw')
    copyFileSync(join(dir, 'ca2', 'server.pem'), join(dir, 'server.pem'))
    copyFileSync(join(dir, 'ca2', 'server.key'), join(dir, 'server.key'))
    const reloaded = await box.cli(['reload', '--data-dir', data])
    expect(reloaded.stderr).toBe('')
    expect(reloaded.exitCode).toBe(0)
    expect(reloaded.stdout).toContain(`password file ${pw} reloaded: 2 users`)
    expect(reloaded.stdout).toContain(`ACL file ${acl} reloaded: 3 rules`)
    expect(reloaded.stdout).toContain(`TLS certificate of listener 127.0.0.1:${tlsPort} reloaded`)
    const bob = await connect(url, {protocolVersion: 5, username: 'bob', password: 'bob-pw'})
    expect((await bob.subscribeAsync('b/#', {qos: 1}))[0].qos).toBe(1)
    const after = await peerFingerprint(tlsPort, ca2)
    expect(after).not.toBe(before)

    // A bad ACL line: exit 1, the line named, the previous ACL still in force.
    writeFileSync(acl, 'user alice\ntopic readwrite load/#\ntopic read a/#/oops\n')
    const bad = await box.cli(['reload', '--data-dir', data, '--json'])
    expect(bad.exitCode).toBe(1)
    const report = JSON.parse(bad.stdout).report
    expect(report.ok).toBe(false)
    expect(report.lines).toContainEqual(expect.stringMatching(/^kept the previous ACL file \(3 rules\): auth\.aclFile ".*acl" line 3: "a\/#\/oops": '#' must be the last character$/))
    expect((await bob.subscribeAsync('b/x', {qos: 1}))[0].qos).toBe(1) // bob's rules still apply

    flowing = false
    await flow
    await waitMqtt(() => inbox.messages.length >= sent, 20_000, `all ${sent} messages`)
    expect(inbox.messages.map((m) => Number(m.payload.toString()))).toEqual([...Array(sent).keys()])
    expect(closes).toBe(0)
    expect(overTls.connected).toBe(true)
    const log = readFileSync(join(data, 'broker.log'), 'utf8')
    expect(log).toContain('received SIGHUP: reloading')
    for (const secret of ['alice-pw', 'bob-pw']) expect(log).not.toContain(secret)
    expect((await box.cli(['stop', '--data-dir', data])).exitCode).toBe(0)
  }, 120_000)

  it('reload with no broker running: exit 3', async () => {
    const r = await box.cli(['reload', '--data-dir', join(box.dir(), 'data')])
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toMatch(/no broker is running on data directory .*; nothing to reload/)
  })

  it('a foreground mqttctl start passes SIGHUP on as SIGHUP: the broker reloads and keeps running', async () => {
    const dir = box.dir()
    const pw = join(dir, 'passwd')
    await passwd(pw, 'alice', 'alice-pw', true)
    const port = await freePort()
    const child = box.spawn(['start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--password-file', pw])
    let out = ''
    child.all?.on('data', (d: Buffer) => (out += d.toString()))
    await waitFor('listening', () => out.includes('Listening on'), 30_000)
    const c = await connect(`mqtt://127.0.0.1:${port}`, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    await passwd(pw, 'carol', 'carol-pw')
    process.kill(child.pid!, 'SIGHUP')
    await waitFor('reload logged', () => out.includes(`password file ${pw} reloaded: 2 users`), 15_000)
    await connect(`mqtt://127.0.0.1:${port}`, {protocolVersion: 5, username: 'carol', password: 'carol-pw'})
    expect(c.connected).toBe(true)
    process.kill(child.pid!, 'SIGTERM')
    const result = await child
    expect(result.exitCode).toBe(0)
    expect(out).not.toContain('received SIGTERM: shutting down gracefully\n'.repeat(2))
  }, 60_000)

  it('a bad password file at start: one line naming file and line, exit 2, nothing started', async () => {
    const dir = box.dir()
    const pw = join(dir, 'passwd')
    writeFileSync(pw, '# users\nalice:secret\n')
    const r = await box.cli(['start', '--detach', '--port', String(await freePort()), '--data-dir', join(dir, 'data'), '--password-file', pw])
    expect(r.exitCode).toBe(2)
    expect(r.stderr.trim()).toBe(`Error: --password-file "${pw}" line 2: user "alice": expected a hash written by mosquitto_passwd or mqttctl passwd ($7$... or $6$...); plain-text passwords are not accepted`)
    const acl = join(dir, 'acl')
    writeFileSync(acl, 'user a\ntopik read x\n')
    // The broker runtime itself (the compiled one `start` runs; the Sandbox built dist/ for this file).
    const r2 = await execa(process.execPath, [join(ROOT, 'dist/src/broker/main.js'), '--port', '0', '--data-dir', join(dir, 'data2'), '--acl-file', acl], {reject: false, cwd: ROOT})
    expect(r2.exitCode).toBe(2)
    expect(r2.stderr).toContain(`--acl-file "${acl}" line 2: unknown keyword "topik": expected topic, pattern or user`)
  })
})
