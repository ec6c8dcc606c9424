/**
 * The operations kit in build's output: monitoring/prometheus.yml (scrape configuration for the
 * broker's /metrics), monitoring/grafana-dashboard.json (every panel on a metric /metrics serves,
 * checked by test/build/monitoring.test.ts) and monitoring/runtime-profile.json (the runtime profile
 * `mqttctl plan` sized the broker by: host, date, Node.js version, command).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {hostPort} from '../net.js'
import {shippedProfilePath} from '../sizing/runtime-profile.js'
import {templatesDir} from '../tune/paths.js'
import {renderTemplate} from '../tune/template.js'
import type {BuildPlan} from './options.js'

export interface MonitoringFile {
  path: string
  content: string
  description: string
}

/** Where Prometheus scrapes: the metrics listener, or loopback when it binds every interface. */
export function scrapeTarget(metrics: {host: string; port: number}): string {
  const host = metrics.host === '0.0.0.0' || metrics.host === '' ? '127.0.0.1' : metrics.host === '::' ? '::1' : metrics.host
  return hostPort(host, metrics.port || 9234)
}

export function monitoringFiles(p: Pick<BuildPlan, 'config' | 'tier'>, version: string): MonitoringFile[] {
  const prometheus = renderTemplate('monitoring/prometheus.yml.tpl', {version, target: scrapeTarget(p.config.metrics), tier: p.tier.name})
  const dashboard = readFileSync(join(templatesDir(), 'monitoring', 'grafana-dashboard.json'), 'utf8')
  return [
    {path: 'monitoring/prometheus.yml', content: prometheus, description: `Prometheus scrape configuration (${scrapeTarget(p.config.metrics)}/metrics)`},
    {path: 'monitoring/grafana-dashboard.json', content: dashboard, description: 'Grafana dashboard for the broker\'s metrics (import it, pick the Prometheus data source)'},
    {path: 'monitoring/runtime-profile.json', content: readFileSync(shippedProfilePath(), 'utf8'), description: 'the runtime profile plan sizes this broker by (host, date, Node.js, command)'},
  ]
}
