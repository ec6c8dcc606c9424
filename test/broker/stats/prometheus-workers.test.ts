import {describe, expect, it} from 'vitest'
import {checkMetrics, clusterMetrics, exposition, prometheusMetrics, workerMetrics} from '../../../src/broker/stats/prometheus.js'
import type {ClusterFigures} from '../../../src/broker/cluster/figures.js'
import {filledSnapshot} from './fixtures.js'
import {parsePrometheus} from './parse-prometheus.js'

const figures: ClusterFigures = {
  node: 'host-w0',
  connected: true,
  disconnects: 2,
  exported: 10,
  imported: 11,
  localOnly: 3,
  notWanted: 4,
  unmapped: 1,
  durableStored: 5,
  durableRefused: 6,
  durableDropped: 7,
  durableDelivered: 8,
  durableDuplicates: 9,
  sessionsMovedAway: 12,
  sessionsMovedHere: 13,
  nodes: 3,
  total: {clients: 100, received: 200, sent: 300, subscriptions: 400},
}

describe('Prometheus: cluster figures and --workers', () => {
  it('cluster figures: one family per $SYS figure, counters end in _total, totals are gauges', () => {
    const m = parsePrometheus(exposition(clusterMetrics(figures)))
    const v = (name: string, labels: Record<string, string> = {}) => m.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value
    const plain = ['node_info', 'connected', 'disconnects_total', 'messages_exported_total', 'messages_imported_total', 'messages_local_only_total', 'messages_not_wanted_total', 'unmapped_total']
    expect(plain.map((n) => v(`mqtt_broker_cluster_${n}`, n === 'node_info' ? {node: 'host-w0'} : {}))).toEqual([1, 1, 2, 10, 11, 3, 4, 1])
    expect([5, 6, 7]).toEqual(['stored', 'refused', 'dropped'].map((result) => v('mqtt_broker_cluster_durable_copies_total', {result})))
    expect([8, 9]).toEqual(['delivered', 'duplicate'].map((result) => v('mqtt_broker_cluster_durable_received_total', {result})))
    expect([12, 13]).toEqual(['away', 'here'].map((direction) => v('mqtt_broker_cluster_sessions_moved_total', {direction})))
    expect([3, 100, 200, 300, 400]).toEqual(['nodes', 'clients', 'messages_received', 'messages_sent', 'subscriptions'].map((n) => v(`mqtt_broker_cluster_${n}`)))
    for (const [name, f] of m) expect(f.type === 'counter', name).toBe(name.endsWith('_total'))
    expect(parsePrometheus(exposition(clusterMetrics({...figures, connected: false}))).get('mqtt_broker_cluster_connected')!.samples[0].value).toBe(0)
  })

  it('workers: every sample labelled with its worker, families once, a silent worker reported down', () => {
    const w0 = [...prometheusMetrics({...filledSnapshot(), connectionsLive: 7}), ...clusterMetrics(figures)]
    const w1 = prometheusMetrics({...filledSnapshot(), connectionsLive: 5})
    const text = exposition(workerMetrics(3, [{worker: 0, metrics: w0}, {worker: 1, metrics: w1}, {worker: 2, metrics: undefined}]))
    expect(text.match(/^# TYPE mqtt_broker_connections /gm)).toHaveLength(1)
    const m = parsePrometheus(text)
    expect(m.get('mqtt_broker_workers')!.samples).toEqual([{labels: {}, value: 3}])
    expect(m.get('mqtt_broker_worker_up')!.samples).toEqual([0, 1, 2].map((w) => ({labels: {worker: String(w)}, value: w < 2 ? 1 : 0})))
    expect(m.get('mqtt_broker_connections')!.samples).toEqual([{labels: {worker: '0'}, value: 7}, {labels: {worker: '1'}, value: 5}])
    expect(m.get('mqtt_broker_messages_received_total')!.samples.filter((s) => s.labels.qos === '2').map((s) => s.labels.worker)).toEqual(['0', '1'])
    expect(m.get('mqtt_broker_cluster_node_info')!.samples).toEqual([{labels: {node: 'host-w0', worker: '0'}, value: 1}])
  })

  it('a worker\'s answer is checked before it is served: a bad shape is no answer', () => {
    const good = clusterMetrics(figures)
    expect(checkMetrics(JSON.parse(JSON.stringify(good)))).toEqual(good)
    const bad: unknown[] = [
      undefined,
      'text',
      {},
      [{name: 'bad name', type: 'gauge', help: 'h', samples: []}],
      [{name: 'x', type: 'histogram', help: 'h', samples: []}],
      [{name: 'x', type: 'gauge', help: 1, samples: []}],
      [{name: 'x', type: 'gauge', help: 'h', samples: [{value: '1'}]}],
      [{name: 'x', type: 'gauge', help: 'h', samples: [{value: 1, labels: {'a-b': 'v'}}]}],
      [{name: 'x', type: 'gauge', help: 'h', samples: [{value: 1, labels: {a: 2}}]}],
      [{name: 'x', type: 'gauge', help: 'h', samples: [{value: 1, labels: null}]}],
      Array.from({length: 1001}, () => ({name: 'x', type: 'gauge', help: 'h', samples: []})),
    ]
    for (const b of bad) expect(checkMetrics(b), JSON.stringify(b)?.slice(0, 80)).toBeUndefined()
  })
})
