/**
 * `mqttctl doctor`: the deployment guide's §8 checklist, run against this machine for a plan
 * (--devices N) or for what the configuration file is sized for.
 */
import {resolve} from 'node:path'
import {type BrokerConfig, ConfigError, loadConfig} from '../config/index.js'
import {brokerFiles, type BrokerState, isAlive, readState} from '../broker/process/state.js'
import {connectHost} from '../net.js'
import {plan, TIERS, tierByName, tierForConnections} from '../sizing/index.js'
import {checkBackup, checkConfigCapacity, checkListenAddress, checkLogLevel, checkNode, checkOsLimits} from './local.js'
import {checkDataDir, checkMonitoring, checkPort, checkTls} from './live.js'
import {checkLoad} from './load.js'
import {checkAcl, checkAnonymous} from './auth.js'
import {checkStore} from './store.js'
import {checkNats} from './nats.js'
import type {DoctorCheck, DoctorReport} from './types.js'

export type {DoctorCheck, DoctorReport, DoctorStatus} from './types.js'

export interface DoctorOptions {
  devices?: number
  /** Configuration file (as start takes it). */
  configFile?: string
  env?: Record<string, string | undefined>
  cwd?: string
  loadTest?: boolean
  /** Tests: a copy of / for the OS checks, another platform, another Node version. */
  root?: string
  platform?: string
  nodeVersion?: string
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const cwd = options.cwd ?? process.cwd()
  const file = options.configFile ? resolve(cwd, options.configFile) : null
  const checks: DoctorCheck[] = [checkNode(options.nodeVersion)]

  let config: BrokerConfig | undefined
  try {
    config = loadConfig({file: file ?? undefined, env: options.env ?? {}}).config
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    checks.push({id: 'config', name: 'Configuration valid', status: 'fail', detail: error.message, fix: 'fix the value named above; mqttctl start --print-config shows what is loaded'})
  }

  const p = options.devices === undefined ? undefined : plan({devices: options.devices})
  const tier = p ? tierByName(p.tier) : config ? tierForConnections(config.maxConnections) : TIERS[0]
  /** Connections one node holds: the plan's devices (per node), else what the configuration allows. */
  const connections = p ? (p.scaleOut?.devicesPerNode ?? p.devices) : (config?.maxConnections ?? tier.broker.maxConnections)

  if (config) {
    checks.push(checkConfigCapacity(config, file, p ? connections : undefined))
  }
  checks.push(checkOsLimits({tier, connections, platform: options.platform, root: options.root}))
  if (config) {
    const files = brokerFiles(config.dataDir, cwd)
    const state: BrokerState | undefined = readState(files)
    for (const listener of config.listeners) checks.push(await checkPort(listener, state))
    checks.push(checkTls(config))
    checks.push(checkAnonymous(config), checkAcl(config))
    checks.push(checkListenAddress(config))
    checks.push(checkDataDir(files.dataDir, connections))
    checks.push(checkStore(config, files.dataDir))
    checks.push(...(await checkNats(config.cluster)))
    checks.push(checkLogLevel(config, tier))
    checks.push(await checkMonitoring(config, state))
    checks.push(checkBackup(file))
    if (options.loadTest) {
      const live = state && isAlive(state.pid) ? state.listeners.find((l) => !l.tls && !l.websocket) : undefined
      checks.push(await checkLoad(live ? {host: connectHost(live.host), port: live.port} : undefined))
    }
  }

  const summary = {pass: 0, warn: 0, fail: 0}
  for (const c of checks) summary[c.status]++
  return {ok: summary.fail === 0, devices: p ? p.devices : null, tier: tier.name, config: file, checks, summary}
}
