import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCommand} from '@oclif/test'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import type {DoctorReport} from '../../commands/doctor.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {checkNats, compareVersions} from '../../src/doctor/nats.js'
import {freePort} from '../../src/net.js'
import {type NatsServer, startNats, startNatsCluster} from '../helpers/nats.js'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-nats-'))
const servers: NatsServer[] = []
const cluster = (servers: string[], replicas = 1) => ({...DEFAULT_CONFIG.cluster, servers, replicas})
const byId = <C extends {id: string}>(checks: C[], id: string): C | undefined => checks.find((c) => c.id === id)

afterEach(() => {
  process.exitCode = undefined
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  rmSync(dir, {recursive: true, force: true})
})

describe('doctor: the NATS connection of a cluster node', () => {
  it('no cluster.servers: no NATS check at all', async () => {
    expect(await checkNats(cluster([]))).toEqual([])
  })

  it('a reachable server with JetStream: its version, JetStream, replicas 1 fit one server', async () => {
    const s = await startNats()
    servers.push(s)
    const checks = await checkNats(cluster([s.url]))
    expect(byId(checks, `nats-127.0.0.1:${s.port}`)).toMatchObject({status: 'pass', detail: expect.stringMatching(/^reachable: nats-server \d+\.\d+\.\d+ \(server_name n1\)/)})
    expect(byId(checks, 'nats-jetstream')).toMatchObject({status: 'pass', detail: expect.stringContaining('streams')})
    expect(byId(checks, 'nats-replicas')).toMatchObject({status: 'pass'})
    // replicas 3 against one server: JetStream would refuse the streams.
    expect(byId(await checkNats(cluster([s.url], 3)), 'nats-replicas')).toMatchObject({status: 'fail', detail: expect.stringContaining('the NATS cluster has 1 server')})
  }, 30_000)

  it('JetStream off: a failing check that says how to turn it on', async () => {
    const s = await startNats({jetstream: false})
    servers.push(s)
    const js = byId(await checkNats(cluster([s.url])), 'nats-jetstream')
    expect(js).toMatchObject({status: 'fail', detail: expect.stringContaining('JetStream is off'), fix: expect.stringContaining('-js')})
  }, 30_000)

  it('an unreachable server fails with the reason, beside a reachable one', async () => {
    const s = await startNats()
    servers.push(s)
    const dead = await freePort()
    const checks = await checkNats(cluster([`nats://127.0.0.1:${dead}`, s.url]))
    expect(byId(checks, `nats-127.0.0.1:${dead}`)).toMatchObject({status: 'fail', detail: expect.stringMatching(/^cannot connect: /)})
    expect(byId(checks, `nats-127.0.0.1:${s.port}`)).toMatchObject({status: 'pass'})
    expect(byId(checks, 'nats-jetstream')).toMatchObject({status: 'pass'})
  }, 30_000)

  it('a NATS cluster of three: replicas 3 fit; replicas 1 there is a warning', async () => {
    const three = await startNatsCluster(3)
    servers.push(...three)
    const urls = three.map((s) => s.url)
    const ok = await checkNats(cluster(urls, 3))
    expect(byId(ok, 'nats-replicas')).toMatchObject({status: 'pass', detail: expect.stringContaining('has 3 servers')})
    expect(byId(await checkNats(cluster(urls, 1)), 'nats-replicas')).toMatchObject({status: 'warn'})
  }, 60_000)

  it('versions compare numerically', () => {
    expect(compareVersions('2.9.10', '2.9.9')).toBeGreaterThan(0)
    expect(compareVersions('2.8.4', '2.9.10')).toBeLessThan(0)
    expect(compareVersions('2.10.0-beta', '2.9.10')).toBeGreaterThan(0)
  })

  it('mqttctl doctor --config FILE --json: the NATS findings are in the report, and a dead server fails it', async () => {
    const s = servers[0]
    const dead = await freePort()
    const file = join(dir, 'broker.json')
    writeFileSync(file, JSON.stringify({dataDir: join(dir, 'data'), listeners: [{host: '127.0.0.1', port: await freePort()}], cluster: {servers: [s.url, `nats://127.0.0.1:${dead}`]}}))
    const {stdout} = await runCommand<DoctorReport>(['doctor', '--config', file, '--json'], {root}, {testNodeEnv: 'production'})
    const report = JSON.parse(stdout) as DoctorReport
    expect(report.ok).toBe(false)
    expect(byId(report.checks, `nats-127.0.0.1:${s.port}`)?.status).toBe('pass')
    expect(byId(report.checks, `nats-127.0.0.1:${dead}`)?.status).toBe('fail')
    expect(byId(report.checks, 'nats-jetstream')?.status).toBe('pass')
  }, 60_000)
})
