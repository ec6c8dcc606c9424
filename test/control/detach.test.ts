/**
 * `mqttctl start --detach` through the real CLI: pid and log files, readiness, refusing a second
 * broker, stale pid files, the broker's own errors, and `--runtime` with a build-style launcher.
 */
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {BROKER_NODE_FLAGS} from '../../src/broker/node-flags.js'
import {isAlive} from '../../src/broker/process/state.js'
import {build, resolvePlan} from '../../src/build/index.js'
import {freePort, ROOT, Sandbox} from './helpers.js'

const box = new Sandbox()
const servers: Server[] = []
afterEach(async () => {
  await box.cleanup()
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

const pidOf = (data: string) => Number(readFileSync(join(data, 'broker.pid'), 'utf8'))

describe('start --detach', () => {
  it('returns once listening, with pid and log files; refuses a second broker on the same data directory', async () => {
    const port = await freePort()
    const data = join(box.dir(), 'data')
    const {stdout, stderr, exitCode} = await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data])
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    const pid = pidOf(data)
    expect(isAlive(pid)).toBe(true)
    expect(stdout.split('\n').map((l) => l.trim())).toEqual([
      `broker started in the background: pid ${pid}`,
      `listening  127.0.0.1:${port}`,
      `data dir   ${data}`,
      `log file   ${join(data, 'broker.log')}`,
      `stop it    mqttctl stop --data-dir ${data}`,
    ])
    expect(readFileSync(join(data, 'broker.log'), 'utf8')).toContain(`INFO: Listening on 127.0.0.1:${port}`)
    // Accepting connections already: no waiting here.
    const client = await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0})
    await client.endAsync()

    const again = await box.cli(['start', '--detach', '--port', String(await freePort()), '--data-dir', data])
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toBe(`Error: a broker is already running on data directory ${data} (pid ${pid}); stop it with \`mqttctl stop --data-dir ${data}\` or choose another --data-dir`)
    const foreground = await box.cli(['start', '--port', String(await freePort()), '--data-dir', data])
    expect(foreground.exitCode).toBe(1)
    expect(pidOf(data)).toBe(pid)
  })

  it('--json prints what broker.json holds', async () => {
    const port = await freePort()
    const data = join(box.dir(), 'data')
    const {stdout, exitCode} = await box.cli(['start', '--detach', '--json', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--max-connections', '77'])
    expect(exitCode).toBe(0)
    const json = JSON.parse(stdout)
    expect(json).toMatchObject({pid: pidOf(data), listeners: [{host: '127.0.0.1', port, tls: false}], dataDir: data, maxConnections: 77, logFile: join(data, 'broker.log'), configFile: null, metrics: null})
    expect(JSON.parse(readFileSync(join(data, 'broker.json'), 'utf8'))).toMatchObject({pid: json.pid, startedAt: json.startedAt})
  })

  it('replaces a stale pid file (no such process) with a warning', async () => {
    const data = join(box.dir(), 'data')
    mkdirSync(data)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    writeFileSync(join(data, 'broker.pid'), `${dead}\n`)
    const {stderr, exitCode} = await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', data])
    expect(exitCode).toBe(0)
    expect(stderr).toBe(`Warning: removed a stale pid file in ${data} (pid ${dead} is not running)`)
    expect(pidOf(data)).not.toBe(dead)
    expect(isAlive(pidOf(data))).toBe(true)
  })

  it('port in use: the broker\'s own error line, exit 1, no pid file, no process', async () => {
    const server = createServer()
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    const data = join(box.dir(), 'data')
    const {stdout, stderr, exitCode} = await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data])
    expect(exitCode).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe(`Error: port ${port} is already in use on 127.0.0.1; stop the other broker or choose --port`)
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
    expect(existsSync(join(data, 'broker.json'))).toBe(false)
    const log = readFileSync(join(data, 'broker.log'), 'utf8')
    const pid = Number(/starting: pid (\d+)/.exec(log)![1])
    expect(isAlive(pid)).toBe(false)
  })

  it('unwritable data directory: one line, exit 1', async () => {
    const dir = box.dir()
    writeFileSync(join(dir, 'file'), '')
    const data = join(dir, 'file', 'data')
    const {stderr, exitCode} = await box.cli(['start', '--detach', '--data-dir', data])
    expect(exitCode).toBe(1)
    expect(stderr).toBe(`Error: data directory ${data} is not writable (a file is in the way); choose another --data-dir or make it writable by this user (chown/chmod)`)
  })

  it('--runtime DIR runs that build\'s bin/mqtt-broker launcher', async () => {
    const bundle = box.dir()
    mkdirSync(join(bundle, 'bin'))
    // The compiled runtime `start` runs by default (the Sandbox built dist/ for this file).
    const own = {command: process.execPath, args: [...BROKER_NODE_FLAGS, join(ROOT, 'dist/src/broker/main.js')]}
    const launcher = join(bundle, 'bin', 'mqtt-broker')
    // What `mqttctl build` ships: a launcher that execs Node.js on the runtime, passing the options.
    writeFileSync(launcher, `#!/bin/sh\necho "launcher: $*"\nexec "${own.command}" ${own.args.map((a) => `"${a}"`).join(' ')} "$@"\n`)
    chmodSync(launcher, 0o755)
    const port = await freePort()
    const data = join(box.dir(), 'data')
    const {exitCode, stderr} = await box.cli(['start', '--detach', '--runtime', bundle, '--host', '127.0.0.1', '--port', String(port), '--data-dir', data])
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    expect(readFileSync(join(data, 'broker.log'), 'utf8')).toContain(`launcher: --port ${port} --host 127.0.0.1 --data-dir ${data}`)
    const client = await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0})
    await client.endAsync()
  })

  it('--runtime on a real `mqttctl build` layout keeps the data under it, and status/stop find it there', {timeout: 60_000}, async () => {
    const out = join(box.dir(), 'mqtt-broker')
    await build(resolvePlan({tier: 'small', out}), {root: ROOT, env: {}})
    const port = await freePort()
    const cwd = box.dir()
    const {stdout, exitCode, stderr} = await box.cli(['start', '--detach', '--runtime', out, '--host', '127.0.0.1', '--port', String(port)], {cwd})
    expect(stderr).toBe('')
    expect(exitCode).toBe(0)
    const data = join(out, 'data')
    expect(stdout).toContain(`stop --data-dir ${data}`)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
    expect(JSON.parse(readFileSync(join(data, 'broker.json'), 'utf8'))).toMatchObject({configFile: join(out, 'etc/broker.json')})
    expect((await box.cli(['status', '--data-dir', data])).exitCode).toBe(0)
    expect((await box.cli(['stop', '--data-dir', data])).exitCode).toBe(0)
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
  })
})
