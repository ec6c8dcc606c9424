/**
 * `mqttctl start --workers 2` on one port: two broker processes behind one listener, joined through
 * the local nats-server the primary starts; clients spread over both see each other's messages;
 * SIGTERM stops the workers and nats-server; SIGKILL of the primary leaves neither behind. And
 * --cluster / --workers refuse bad values in one line.
 */
import {readFileSync} from 'node:fs'
import {execa} from 'execa'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {Sandbox, freePort, waitFor as waitUntil} from '../../control/helpers.js'
import {isAlive} from '../../../src/broker/process/state.js'
import {type MqttClient, closeAll, collect, connect, sleep, waitFor} from '../../helpers/mqtt.js'
import {requireNatsServer} from '../../helpers/nats.js'

const box = new Sandbox()
afterEach(async () => {
  await closeAll()
  await box.cleanup()
})

describe('start --workers', () => {
  it('two workers share one port; clients on both exchange messages; SIGTERM stops workers and nats-server', async () => {
    await requireNatsServer()
    const dir = box.dir()
    const port = await freePort()
    const child = box.spawn(['start', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'debug'])
    let out = ''
    child.all!.on('data', (d: Buffer) => (out += d.toString()))
    const state = (await waitUntil('broker.json', () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'broker.json'), 'utf8')) as {pid: number; listeners: Array<{port: number}>}
      } catch {
        return undefined
      }
    }, 30_000))!
    const natsPid = Number(/nats-server .* \(pid (\d+)/.exec(out)?.[1])
    box.track(natsPid)
    expect(state.listeners[0].port).toBe(port)
    const url = `mqtt://127.0.0.1:${port}`
    // Eight clients: the primary hands connections to the workers in turn.
    const subs: MqttClient[] = []
    for (let i = 0; i < 4; i++) {
      const s = await connect(url, {clientId: `w-sub-${i}`})
      await s.subscribeAsync('w/#', {qos: 1})
      subs.push(s)
    }
    const pubs: MqttClient[] = []
    for (let i = 0; i < 4; i++) pubs.push(await connect(url, {clientId: `w-pub-${i}`}))
    await waitFor(() => /worker 0: .*New client connected/.test(out) && /worker 1: .*New client connected/.test(out), 5000, 'clients on both workers')
    // Until every subscriber hears every publisher (interest crossed NATS), then count exactly.
    const deadline = Date.now() + 15_000
    for (;;) {
      for (const [i, p] of pubs.entries()) await p.publishAsync(`w/probe/${i}`, 'probe', {qos: 0})
      await sleep(50)
      const ok = subs.every((s) => new Set(collect(s).messages.filter((m) => m.topic.startsWith('w/probe/')).map((m) => m.topic)).size === 4)
      if (ok) break
      if (Date.now() > deadline) throw new Error(`not every subscriber hears every publisher: ${out.slice(-2000)}`)
    }
    await sleep(100)
    for (const s of subs) collect(s).messages.length = 0
    for (const [i, p] of pubs.entries()) for (let k = 0; k < 25; k++) await p.publishAsync(`w/${i}`, `${i}:${k}`, {qos: 1})
    for (const s of subs) await collect(s).waitCount(100, 10_000)
    await sleep(100)
    for (const s of subs) {
      const got = collect(s).payloads()
      expect(got.length).toBe(100)
      // Order per publisher holds across the hop.
      for (let i = 0; i < 4; i++) expect(got.filter((g) => g.startsWith(`${i}:`))).toEqual(Array.from({length: 25}, (_, k) => `${i}:${k}`))
    }
    await closeAll()
    process.kill(state.pid, 'SIGTERM')
    const result = await child
    expect(result.exitCode).toBe(0)
    expect(isAlive(natsPid)).toBe(false)
    expect(out).toMatch(/stopping 2 workers/)
  }, 60_000)

  it('SIGKILL of the primary: the workers and the nats-server it started do not stay behind', async () => {
    await requireNatsServer()
    const dir = box.dir()
    const port = await freePort()
    const child = box.spawn(['start', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir])
    let out = ''
    child.all!.on('data', (d: Buffer) => (out += d.toString()))
    const state = (await waitUntil('broker.json', () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'broker.json'), 'utf8')) as {pid: number}
      } catch {
        return undefined
      }
    }, 30_000))!
    const natsPid = Number(/nats-server .* \(pid (\d+)/.exec(out)?.[1])
    expect(natsPid).toBeGreaterThan(0)
    box.track(natsPid)
    const ps = await execa('ps', ['-o', 'pid=', '--ppid', String(state.pid)])
    const children = ps.stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0)
    for (const pid of children) box.track(pid)
    expect(children.length).toBeGreaterThanOrEqual(3) // two workers and the watchdog shell
    expect(isAlive(natsPid)).toBe(true)
    process.kill(state.pid, 'SIGKILL')
    await child.catch(() => {})
    await waitUntil('nats-server and the workers gone', () => (![natsPid, ...children].some(isAlive) ? true : undefined), 15_000)
  }, 60_000)

  it('refuses a bad --cluster URL and a bad --workers count in one line', async () => {
    const dir = box.dir()
    const bad = await box.cli(['start', '--cluster', 'http://x:1', '--data-dir', dir])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/--cluster "http:\/\/x:1" is not allowed: scheme http/)
    const zero = await box.cli(['start', '--workers', '0', '--data-dir', dir])
    expect(zero.exitCode).toBe(2)
    expect(zero.stderr).toMatch(/--workers "0" is not allowed: expected an integer from 1/)
  }, 60_000)

  it('names the Debian package when nats-server is missing', async () => {
    const dir = box.dir()
    const port = await freePort()
    const r = await box.cli(['start', '--workers', '2', '--port', String(port), '--data-dir', dir], {env: {MQTTCTL_NATS_SERVER: '/nonexistent/nats-server'}})
    expect(r.exitCode).toBe(1)
    expect(r.stderr + r.stdout).toMatch(/apt-get install nats-server/)
  }, 60_000)
})
