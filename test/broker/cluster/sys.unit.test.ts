/**
 * cluster/sys.ts without NATS: the cluster $SYS topics of one node from its own figures and its
 * peers' (stale peers dropped after three intervals), and the tick on a ManualClock: only changed
 * topics republished, figures shared every interval, one warning per tick while unlinked, a failing
 * tick logged and the next one still armed, stop() disarms.
 */
import {describe, expect, it} from 'vitest'
import {PeerFigures} from '../../../src/broker/cluster/figures.js'
import {ClusterStats} from '../../../src/broker/cluster/host.js'
import type {ClusterNode, NodeFigures} from '../../../src/broker/cluster/node.js'
import {CLUSTER_SYS_PREFIX, clusterSysMessages, startClusterSys} from '../../../src/broker/cluster/sys.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {ManualClock} from '../../helpers/clock.js'

/** The part of a ClusterNode sys.ts reads, as plain data. */
function fakeNode(name = 'node-a') {
  const shared: NodeFigures[] = []
  const node = {
    name,
    stats: new ClusterStats(),
    sessionStats: {moved: 2, adopted: 1, takeovers: 0, holding: 0},
    peers: new PeerFigures(),
    connected: true,
    shareFigures: (f: NodeFigures): void => void shared.push(f),
  }
  return {node, shared, asNode: node as unknown as ClusterNode}
}
const peer = (id: string, clients: number) => ({data: new TextEncoder().encode(JSON.stringify({id, name: id, clients, received: 10, sent: 100, subscriptions: 5, exported: 0, imported: 0}))})
const brokerStats = () => Object.assign(new BrokerStats(), {messagesReceived: 7, messagesSent: 9, subscriptions: 3})
const asMap = (messages: Array<[string, string]>) => new Map(messages.map(([t, p]) => [t.slice(CLUSTER_SYS_PREFIX.length), p]))

describe('clusterSysMessages', () => {
  it('reports this node alone under $SYS/broker/mqttctl/cluster/, totals equal to its own figures', () => {
    const {node, asNode} = fakeNode()
    Object.assign(node.stats, {connected: true, exported: 4, imported: 5, importedShared: 6, localOnly: 1, notWanted: 2, unmapped: 3, disconnects: 1})
    const stats = brokerStats()
    stats.connectionsLive = 12
    const m = asMap(clusterSysMessages(asNode, stats, 0, 5000))
    expect(Object.fromEntries(m)).toMatchObject({
      node: 'node-a', connected: '1', disconnects: '1', exported: '4', imported: '11', 'local-only': '1', 'not-wanted': '2', unmapped: '3',
      'sessions/moved-away': '2', 'sessions/moved-here': '1', nodes: '1',
      'total/clients/connected': '12', 'total/publish/messages/received': '7', 'total/publish/messages/sent': '9', 'total/subscriptions/count': '3',
    })
    expect(m.size).toBe(20)
  })

  it('adds peers heard within three intervals and forgets older ones', () => {
    const {node, asNode} = fakeNode()
    node.peers.receive(peer('b', 100), 1000)
    node.peers.receive(peer('c', 1000), 0)
    const stats = brokerStats()
    stats.connectionsLive = 1
    const at15 = asMap(clusterSysMessages(asNode, stats, 15_000, 5000)) // c: exactly 3 intervals old, kept
    expect([at15.get('nodes'), at15.get('total/clients/connected'), at15.get('total/publish/messages/sent')]).toEqual(['3', '1101', '209'])
    const later = asMap(clusterSysMessages(asNode, stats, 15_001, 5000))
    expect([later.get('nodes'), later.get('total/clients/connected')]).toEqual(['2', '101']) // c one ms past; b heard at 1000: still fresh
    const m = asMap(clusterSysMessages(asNode, stats, 16_001, 5000))
    expect([m.get('nodes'), m.get('total/clients/connected')]).toEqual(['1', '1'])
    expect(node.peers.size).toBe(0)
  })
})

describe('startClusterSys', () => {
  function start(intervalSeconds = 5) {
    const clock = new ManualClock(0)
    const logger = memoryLogger('debug')
    const f = fakeNode()
    const stats = brokerStats()
    const published: Array<[string, string]> = []
    const stop = startClusterSys({node: f.asNode, stats, clock, logger, intervalSeconds, broker: {publish: (t, p, o) => (expect(o).toEqual({qos: 0, retain: true}), published.push([t, p]))}})
    return {clock, logger, stats, published, stop, ...f}
  }

  it('first tick after at most 1 s publishes every topic; later ticks only the changed ones, and share figures each time', () => {
    const {clock, stats, published, shared, stop} = start()
    clock.advance(999)
    expect(published).toHaveLength(0)
    clock.advance(1)
    expect(published).toHaveLength(20)
    expect(shared).toHaveLength(1)
    expect(shared[0]).toEqual({name: 'node-a', clients: 0, received: 7, sent: 9, subscriptions: 3, exported: 0, imported: 0})
    published.length = 0
    stats.messagesSent = 10
    clock.advance(5000)
    expect(published).toEqual([[`${CLUSTER_SYS_PREFIX}total/publish/messages/sent`, '10']])
    expect(shared).toHaveLength(2)
    stop()
    clock.advance(60_000)
    expect(shared).toHaveLength(2)
    expect(clock.pending).toBe(0)
  })

  it('warns once per tick while the node is not linked', () => {
    const {clock, logger, node, stop} = start()
    node.connected = false
    node.stats.localOnly = 3
    clock.advance(1000)
    clock.advance(5000)
    expect(logger.lines.filter((l) => l.includes('cluster: node node-a is not linked through NATS: serving local clients only (3 messages kept local so far)'))).toHaveLength(2)
    stop()
  })

  it('an error inside a tick is logged and the next tick still runs', () => {
    const {clock, logger, node, shared, stop} = start()
    let fail = true
    node.shareFigures = (f) => {
      if (fail) throw new Error('link exploded')
      shared.push(f)
    }
    clock.advance(1000)
    expect(logger.lines.some((l) => l.includes('cluster: internal error in the statistics tick: Error: link exploded'))).toBe(true)
    fail = false
    clock.advance(5000)
    expect(shared).toHaveLength(1)
    stop()
  })
})
