import {runCommand} from '@oclif/test'
import {Chalk} from 'chalk'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {CLUSTER_SYS_PREFIX} from '../../src/broker/cluster/sys.js'
import {clusterFromTopics, clusterLines, clusterRate, clusterWarnings} from '../../src/monitor/cluster.js'
import {nodeLines, nodeRow} from '../../src/monitor/cluster-nodes.js'
import {freePort} from '../../src/net.js'
import {type MonitorJson, runMonitor} from '../../src/monitor/run.js'
import {shippedProfile} from '../../src/sizing/index.js'
import {type Reporter, startReporter} from '../../src/broker/stats/reporter.js'
import {startNode} from '../helpers/cluster.js'
import {closeAll, connect} from '../helpers/mqtt.js'
import {type NatsServer, startNats} from '../helpers/nats.js'

const root = new URL('../..', import.meta.url).pathname
const topics = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [CLUSTER_SYS_PREFIX + k, v]))
const plain = new Chalk({level: 0})
let nats: NatsServer | undefined
const reporters: Reporter[] = []

afterEach(() => {
  process.exitCode = undefined
})
afterAll(async () => {
  await Promise.all(reporters.map((r) => r.stop()))
  await closeAll()
  await nats?.stop()
})

describe('monitor: a cluster node\'s $SYS figures, read back and checked', () => {
  it('reads every cluster topic', () => {
    const v = clusterFromTopics(topics({node: 'node-a', connected: '1', disconnects: '2', exported: '10', imported: '7', 'local-only': '0', 'not-wanted': '3', unmapped: '0', 'durable/stored': '4', 'durable/refused': '0', 'durable/dropped': '1', 'durable/delivered': '5', 'durable/duplicates': '0', 'sessions/moved-away': '1', 'sessions/moved-here': '2', nodes: '3', 'total/clients/connected': '30', 'total/publish/messages/received': '100', 'total/publish/messages/sent': '90', 'total/subscriptions/count': '40'}))
    expect(v).toEqual({node: 'node-a', connected: true, disconnects: 2, exported: 10, imported: 7, localOnly: 0, notWanted: 3, unmapped: 0, durable: {stored: 4, refused: 0, dropped: 1, delivered: 5, duplicates: 0}, sessions: {movedAway: 1, movedHere: 2}, nodes: 3, total: {clients: 30, received: 100, sent: 90, subscriptions: 40}})
  })

  it('a single broker (no cluster topics) or a hostile node name: no cluster view', () => {
    expect(clusterFromTopics(new Map([['$SYS/broker/uptime', '5']]))).toBeNull()
    for (const name of ['', 'a b', 'x'.repeat(65), '\u001b[2J', 'a/b']) expect(clusterFromTopics(topics({node: name}))).toBeNull()
  })

  it('figures that are not whole non-negative numbers are unknown, not guessed', () => {
    const v = clusterFromTopics(topics({node: 'n', connected: 'yes', nodes: '-1', exported: '1e3', imported: '12345678901234567', 'total/clients/connected': ' 4'}))!
    expect(v).toMatchObject({connected: null, nodes: null, exported: null, imported: null, total: {clients: null}})
  })

  it('rates and warnings: link down, copies refused or dropped since the last update; none after a restart', () => {
    expect(clusterRate(30, 10, 2)).toBe(10)
    expect(clusterRate(5, 10, 2)).toBeNull()
    const base = clusterFromTopics(topics({node: 'n', connected: '1', 'durable/refused': '0', 'durable/dropped': '0'}))!
    expect(clusterWarnings(base, base)).toEqual([])
    const down = {...base, connected: false, localOnly: 12}
    expect(clusterWarnings(down, base)).toEqual([expect.stringMatching(/^cluster: node n has no NATS link: it serves its own clients only .*12 kept here/)])
    const worse = {...base, durable: {...base.durable, refused: 3, dropped: 2}}
    expect(clusterWarnings(worse, base).join('\n')).toMatch(/refused 3 QoS 1\/2 copies[\s\S]*2 copies for persistent sessions on other nodes dropped/)
  })

  it('dashboard lines: the node, its link, the cluster, the rates through NATS', () => {
    const prev = clusterFromTopics(topics({node: 'node-b', connected: '1', exported: '100', imported: '50', nodes: '2'}))!
    const cur = {...prev, exported: 300, imported: 50}
    const lines = clusterLines(cur, prev, 2, plain, 13)
    expect(lines[0]).toBe('Cluster      node node-b · NATS link up · 2 nodes · disconnects n/a')
    expect(lines[1]).toContain('to NATS 300 (100/s)')
    expect(clusterLines(null, null, 0, plain, 13)).toEqual([])
  })

  it('the per-node table: a row per node, figures it lacks as n/a, an unreachable node named as such', () => {
    const view = clusterFromTopics(topics({node: 'node-a', connected: '1', exported: '5', imported: '6'}))!
    const rows = [nodeRow('mqtt://a:1883', {time: 0, figures: {connectionsLive: 10, messagesReceived: 20, messagesSent: 30}, loads: {}, cluster: view}), nodeRow('mqtt://b:1883', undefined, 'connect ECONNREFUSED')]
    expect(rows[0]).toMatchObject({node: 'node-a', connected: true, clients: 10, received: 20, sent: 30, exported: 5, imported: 6, subscriptions: null})
    const lines = nodeLines(rows, plain, 80)
    expect(lines[1]).toMatch(/node +NATS +clients +msgs in +msgs out +to NATS +from NATS/)
    expect(lines[2]).toMatch(/^ {2}node-a +up +10 +20 +30 +5 +6$/)
    expect(lines[3]).toMatch(/^ {2}b:1883 +unreachable +n\/a/)
  })
})

describe('monitor against real cluster nodes over a real nats-server', () => {
  async function until(url: string, ok: (j: MonitorJson) => boolean, what: string): Promise<MonitorJson> {
    let last: MonitorJson | undefined
    for (let i = 0; i < 60; i++) {
      last = await runMonitor({url, timeoutSeconds: 5, once: true, json: true, color: false, out: process.stdout, profile: shippedProfile(), print: () => undefined})
      if (ok(last)) return last
      await new Promise((r) => setTimeout(r, 250))
    }
    throw new Error(`${what}: last cluster figures ${JSON.stringify(last?.cluster)}`)
  }

  it('shows the node, the link, the nodes heard from and the totals; then the link down', async () => {
    nats = await startNats({jetstream: false})
    const a = await startNode([nats.url], {name: 'node-a', config: {statsInterval: 1}})
    const b = await startNode([nats.url], {name: 'node-b', config: {statsInterval: 1}})
    reporters.push(startReporter(a.broker), startReporter(b.broker))
    await connect(a.url)
    await connect(a.url)
    const j = await until(b.url, (x) => x.cluster?.nodes === 2 && x.cluster.total.clients !== null && x.cluster.total.clients >= 3, 'two nodes and their clients')
    expect(j.cluster).toMatchObject({node: 'node-b', connected: true})
    expect(j.warnings.filter((w) => w.startsWith('cluster:'))).toEqual([])

    const {stdout, error} = await runCommand(['monitor', '--url', b.url, '--once', '--no-color'], {root}, {testNodeEnv: 'production'})
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/^Cluster +node node-b · NATS link up · 2 nodes · disconnects 0$/m)
    expect(stdout).toMatch(/all nodes: clients \d/)

    // Per node: --node adds each other node's own figures (and an unreachable one is a row, not a failure).
    const dead = `mqtt://127.0.0.1:${await freePort()}`
    const table = await runCommand(['monitor', '--url', b.url, '--node', a.url, '--node', dead, '--once', '--json'], {root}, {testNodeEnv: 'production'})
    const rows = JSON.parse(table.stdout).nodes
    expect(rows.map((r: {node: string | null}) => r.node)).toEqual(['node-b', 'node-a', null])
    expect(rows[1]).toMatchObject({url: a.url, connected: true, clients: expect.any(Number)})
    expect(rows[1].clients).toBeGreaterThanOrEqual(2)
    expect(rows[2]).toMatchObject({url: dead, error: expect.any(String)})
    const text = await runCommand(['monitor', '--url', b.url, '--node', a.url, '--once', '--no-color'], {root}, {testNodeEnv: 'production'})
    expect(text.stdout).toMatch(/^ {2}node-a +up +\d+ /m)
    const bad = await runCommand(['monitor', '--url', b.url, '--node', 'http://x'], {root}, {testNodeEnv: 'production'})
    expect(bad.stderr).toContain('--node "http://x" is not allowed')

    await nats.stop()
    const down = await until(b.url, (x) => x.cluster?.connected === false, 'the link down')
    expect(down.warnings).toContainEqual(expect.stringMatching(/^cluster: node node-b has no NATS link/))
    const json = await runCommand(['monitor', '--url', b.url, '--once', '--json'], {root}, {testNodeEnv: 'production'})
    expect(JSON.parse(json.stdout).cluster).toMatchObject({node: 'node-b', connected: false})
  }, 90_000)
})
