import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {startReporter} from '../../src/broker/stats/reporter.js'
import {monitoringFiles, scrapeTarget} from '../../src/build/monitoring.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {tierByName} from '../../src/sizing/index.js'
import {startBroker, type StartedBroker} from '../helpers/broker.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dashboard = JSON.parse(readFileSync(join(root, 'templates/monitoring/grafana-dashboard.json'), 'utf8'))
const exprs: string[] = dashboard.panels.flatMap((p: {targets: {expr: string}[]}) => p.targets.map((t) => t.expr))
/** Metric names in a PromQL expression (functions and range selectors aside). */
const metricsOf = (expr: string) => [...expr.matchAll(/\b([a-z_]+_[a-z_]+)\b(?!\s*\()/g)].map((m) => m[1]).filter((n) => !['by', 'sum', 'rate'].includes(n))

describe('the Grafana dashboard and the Prometheus scrape configuration', () => {
  let started: StartedBroker | undefined
  let stop: (() => Promise<void>) | undefined
  afterAll(async () => {
    await stop?.()
    await started?.close()
  })

  it('every panel\'s metric is one the broker serves on /metrics', async () => {
    started = await startBroker({metrics: {enabled: true, host: '127.0.0.1', port: 0}})
    const reporter = startReporter(started.broker)
    stop = () => reporter.stop()
    const metrics = await reporter.metrics
    const text = await (await fetch(`http://127.0.0.1:${metrics!.port}/metrics`)).text()
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
    expect(served.size).toBeGreaterThan(10)
    expect(exprs.length).toBeGreaterThanOrEqual(dashboard.panels.length)
    // A cluster node's figures (mqtt_broker_cluster_*) are checked against a clustered node: test/broker/stats/prometheus-cluster.test.ts.
    for (const expr of exprs.filter((e) => !e.includes('mqtt_broker_cluster_'))) {
      const names = metricsOf(expr)
      expect(names.length, expr).toBeGreaterThan(0)
      for (const name of names) expect(served, `${expr}: ${name}`).toContain(name)
    }
  })

  it('is a dashboard Grafana imports: unique panel ids, a Prometheus data source input, every panel on the grid', () => {
    expect(dashboard.__inputs[0]).toMatchObject({name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus'})
    const ids = dashboard.panels.map((p: {id: number}) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of dashboard.panels) {
      expect(p.datasource.uid).toBe('${DS_PROMETHEUS}')
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24)
    }
  })

  it('the scrape configuration targets the metrics listener of the built configuration', () => {
    const files = monitoringFiles({config: {...DEFAULT_CONFIG, metrics: {enabled: true, host: '0.0.0.0', port: 9300}}, tier: tierByName('medium')}, '9.9.9')
    const yml = files.find((f) => f.path === 'monitoring/prometheus.yml')!.content
    expect(yml).toContain("      - targets: ['127.0.0.1:9300']")
    expect(yml).toContain("tier: 'medium'")
    expect(yml).toContain('mqttctl MQTT broker (9.9.9)')
    expect(yml).toMatch(/^scrape_configs:\n  - job_name: mqtt-broker\n    metrics_path: \/metrics$/m)
    expect(scrapeTarget({host: '::', port: 9234})).toBe('[::1]:9234')
    expect(files.map((f) => f.path)).toEqual(['monitoring/prometheus.yml', 'monitoring/grafana-dashboard.json', 'monitoring/runtime-profile.json'])
  })
})
