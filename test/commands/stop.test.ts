/**
 * `mqttctl stop` through the real CLI: graceful stop of a detached broker, nothing running (exit 3),
 * and the forced kill with a warning when a process ignores SIGTERM past --timeout.
 */
import {mkdirSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {runCommand} from '@oclif/test'
import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'
import {isAlive} from '../../src/broker/process/state.js'
import {freePort, ROOT, Sandbox, waitFor} from '../control/helpers.js'

const box = new Sandbox()
afterEach(() => box.cleanup())

describe('stop', () => {
  it('start --detach / status / stop pair up on one data directory; the broker closes gracefully', async () => {
    const data = join(box.dir(), 'data')
    expect((await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', data])).exitCode).toBe(0)
    const pid = Number(readFileSync(join(data, 'broker.pid'), 'utf8'))
    expect((await box.cli(['status', '--data-dir', data])).exitCode).toBe(0)

    const {stdout, stderr, exitCode} = await box.cli(['stop', '--data-dir', data])
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    expect(stdout).toBe(`broker stopped (pid ${pid})`)
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
    expect(existsSync(join(data, 'broker.json'))).toBe(false)
    expect(readFileSync(join(data, 'broker.log'), 'utf8')).toContain('INFO: received SIGTERM: shutting down gracefully')
    expect((await box.cli(['status', '--data-dir', data])).exitCode).toBe(3)
  })

  it('nothing running: a clear message, exit 3; a stale pid file is removed', async () => {
    const data = join(box.dir(), 'data')
    const none = await box.cli(['stop', '--data-dir', data])
    expect(none.exitCode).toBe(3)
    expect(none.stdout).toBe(`no broker is running on data directory ${data}; nothing to stop`)

    mkdirSync(data)
    writeFileSync(join(data, 'broker.pid'), '999999999\n')
    const stale = await box.cli(['stop', '--data-dir', data, '--json'])
    expect(stale.exitCode).toBe(3)
    expect(JSON.parse(stale.stdout)).toEqual({stopped: false, pid: null, forced: false, stalePid: 999_999_999, dataDir: data})
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
  })

  it('a process that ignores SIGTERM is killed after --timeout, with a warning', async () => {
    const data = join(box.dir(), 'data')
    mkdirSync(data)
    const stubborn = execa(process.execPath, ['-e', "process.on('SIGTERM', () => console.log('ignored')); console.log('ready'); setInterval(() => {}, 1000)"], {reject: false})
    box.track(stubborn.pid)
    let out = ''
    stubborn.stdout!.on('data', (c: Buffer) => (out += c.toString()))
    await waitFor('the stubborn process', () => out.includes('ready'))
    writeFileSync(join(data, 'broker.pid'), `${stubborn.pid}\n`)

    const {stdout, stderr, exitCode} = await box.cli(['stop', '--data-dir', data, '--timeout', '1'])
    expect(exitCode).toBe(0)
    expect(stderr).toBe(`Warning: the broker (pid ${stubborn.pid}) did not stop within 1 s after SIGTERM; killing it (SIGKILL): unacknowledged in-flight messages may be lost`)
    expect(stdout).toBe(`broker stopped (pid ${stubborn.pid}, killed)`)
    expect((await stubborn).signal).toBe('SIGKILL')
    expect(out).toContain('ignored')
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
  })

  it.skipIf(process.platform !== 'linux')('a stale pid file whose pid now names another process: that process is left alone', async () => {
    // Found by QA: after kill -9 (or a reboot) the pid in broker.pid was reused, and stop SIGTERMed
    // the unrelated process while status called it "running".
    const data = join(box.dir(), 'data')
    const port = await freePort()
    expect((await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data])).exitCode).toBe(0)
    const brokerPid = Number(readFileSync(join(data, 'broker.pid'), 'utf8'))
    box.track(brokerPid)
    process.kill(brokerPid, 'SIGKILL')
    await waitFor('the broker to die', () => !isAlive(brokerPid))
    const bystander = execa(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000)"], {reject: false})
    box.track(bystander.pid)
    await waitFor('the bystander', () => isAlive(bystander.pid!))
    // The broker's files as kill -9 left them, the pid now reused by the bystander.
    writeFileSync(join(data, 'broker.pid'), `${bystander.pid}\n`)
    const state = JSON.parse(readFileSync(join(data, 'broker.json'), 'utf8'))
    writeFileSync(join(data, 'broker.json'), JSON.stringify({...state, pid: bystander.pid}))

    const status = await box.cli(['status', '--data-dir', data])
    expect(status.exitCode).toBe(3)
    expect(status.stdout).toContain(`broker: not running (stale pid file: pid ${bystander.pid} is not running)`)
    const stop = await box.cli(['stop', '--data-dir', data, '--timeout', '1'])
    expect(stop.exitCode).toBe(3)
    expect(isAlive(bystander.pid!)).toBe(true)
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
    bystander.kill('SIGKILL')
    await bystander
  })

  it('a bad --timeout is one line, exit 2', async () => {
    // In process: a refusal before anything is read or signalled (a real process prints the same: test/commands/start.test.ts).
    const {stderr, stdout, error} = await runCommand(['stop', '--timeout', 'soon', '--data-dir', join(box.dir(), 'data')], {root: ROOT}, {testNodeEnv: 'production'})
    process.exitCode = undefined
    expect(error?.oclif?.exit).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe('Error: --timeout "soon" is not allowed: expected seconds from 0 to 3600\n')
  })
})
