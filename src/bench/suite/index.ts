/**
 * `npm run bench` / `mqttctl bench suite`: our broker and Mosquitto side by side in one run. Each
 * broker is pinned to core 0 and this process (the load generator) to core 1; scenarios run
 * interleaved A B A B for several rounds; medians and ratios go to RESULTS.md and results.json.
 * Every broker started here is stopped here, by pid, even on error or Ctrl-C.
 */
import {spawnSync} from 'node:child_process'
import {cpus, loadavg} from 'node:os'
import {join} from 'node:path'
import {packageRoot, packageVersion} from '../../paths.js'
import {freePort} from '../../net.js'
import {findMosquitto, mosquittoVersion, ourBrokerEntry, startMosquitto, startOurs, which, type RunningBroker} from '../brokers.js'
import {FULL, QUICK, SCENARIOS, type Metrics, type SuiteScale} from './scenarios.js'
import {machine, writeResults, type SuiteResults} from './report.js'
import {CLUSTER_SCENARIOS, clusterSkipReason} from './cluster.js'

export interface SuiteOptions {
  rounds: number
  quick: boolean
  /** Scenario ids to run; empty = all. */
  only: string[]
  /** Directory for RESULTS.md and results.json. */
  out: string
  /** Skip our broker even when it is available (Mosquitto alone). */
  mosquittoOnly: boolean
  /** The scale-out scenario's `--workers N`, measured against --workers 1 (2..64). */
  brokerWorkers: number
  /** Pin this process to core 1 and the brokers to core 0 (default: unless quick). */
  pin?: boolean
  log: (line: string) => void
}

export const SUITE_DEFAULTS: SuiteOptions = {rounds: 3, quick: false, only: [], out: join(packageRoot(), 'bench'), mosquittoOnly: false, brokerWorkers: 2, log: () => {}}

type Starter = {name: 'ours' | 'mosquitto'; start: (port: number) => Promise<RunningBroker>}

/** Pins this process (every thread) to `cpu` when taskset exists and the host has the cores. */
function pinSelf(cpu: string): boolean {
  if (!which('taskset') || cpus().length < 2) return false
  return spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], {stdio: 'ignore'}).status === 0
}

export async function runSuite(given: Partial<SuiteOptions> = {}): Promise<SuiteResults> {
  const o: SuiteOptions = {...SUITE_DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined))}
  if (!Number.isInteger(o.brokerWorkers) || o.brokerWorkers < 2 || o.brokerWorkers > 64) throw new Error(`--broker-workers ${o.brokerWorkers} is not allowed: an integer 2..64`)
  const scale: SuiteScale = o.quick ? QUICK : FULL
  const notes: string[] = []
  const pinnedOk = (o.pin ?? !o.quick) && pinSelf('1')
  const brokerCpu = pinnedOk ? '0' : undefined
  if (!pinnedOk) notes.push('Not pinned (quick run, taskset missing or fewer than 2 cores): brokers and generator share the CPUs.')
  const load0 = loadavg()[0]
  if (load0 > 1) notes.push(`The host was busy when the suite started (1-min load average ${load0.toFixed(2)}); ratios are more trustworthy than absolute numbers.`)

  const starters: Starter[] = []
  const mosq = findMosquitto(true)
  let ourVersion: string | null = null
  if (!o.mosquittoOnly && ourBrokerEntry()) {
    starters.push({name: 'ours', start: (port) => startOurs({port, cpu: brokerCpu})})
    ourVersion = `mqttctl ${packageVersion()}`
  } else notes.push(o.mosquittoOnly ? 'Our broker was skipped (--mosquitto-only).' : 'Our broker is not available (no compiled dist/src/broker/main.js; run `npm run build`): Mosquitto ran alone.')
  if (mosq) starters.push({name: 'mosquitto', start: (port) => startMosquitto(mosq, {port, cpu: brokerCpu})})
  else notes.push('Mosquitto is not installed and could not be installed (apt-get install mosquitto needs root): no comparison.')
  if (starters.length === 0) throw new Error('no broker to measure: neither ours nor mosquitto is available')

  const scenarios = SCENARIOS.filter((s) => o.only.length === 0 || o.only.includes(s.id))
  // Scale-out (ours only, nats-server started by the scenario): skipped with one line without it.
  let clusterScenarios = CLUSTER_SCENARIOS.filter((s) => o.only.length === 0 || o.only.includes(s.id))
  const skip = clusterScenarios.length === 0 ? undefined : !starters.some((s) => s.name === 'ours') ? 'Scale-out scenarios (cluster, workers) skipped: our broker is not measured.' : clusterSkipReason()
  if (skip) {
    notes.push(skip)
    o.log(skip)
    clusterScenarios = []
  }
  const runs: SuiteResults['runs'] = []
  const live = new Set<{stop(): Promise<void>}>()
  const stopAll = async () => {
    await Promise.all([...live].map((b) => b.stop()))
    live.clear()
  }
  const onSignal = () => void stopAll().then(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const startedAt = new Date().toISOString()
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const scenario of scenarios) {
        // A B, then B A in the next round, so neither broker always runs on a warmer machine.
        const order = round % 2 === 1 ? starters : [...starters].reverse()
        for (const s of order) {
          let metrics: Metrics
          let error: string | undefined
          const broker = await s.start(await freePort())
          live.add(broker)
          try {
            metrics = await scenario.run(broker, scale)
          } catch (e) {
            metrics = {}
            error = (e as Error).message
          } finally {
            await broker.stop()
            live.delete(broker)
          }
          runs.push({scenario: scenario.id, broker: s.name, round, metrics, error})
          o.log(`round ${round}/${o.rounds}  ${scenario.id.padEnd(9)} ${s.name.padEnd(9)} ${error ? `error: ${error}` : fmt(metrics)}`)
        }
      }
      for (const scenario of clusterScenarios) {
        let metrics: Metrics = {}
        let error: string | undefined
        try {
          metrics = await scenario.run({scale, workers: o.brokerWorkers, cpu: brokerCpu, live})
        } catch (e) {
          error = (e as Error).message
        }
        runs.push({scenario: scenario.id, broker: 'ours', round, metrics, error})
        o.log(`round ${round}/${o.rounds}  ${scenario.id.padEnd(9)} ours      ${error ? `error: ${error}` : fmt(metrics)}`)
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await stopAll()
  }
  const results: SuiteResults = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {...machine(), loadAverageAtStart: Math.round(load0 * 100) / 100, pinned: pinnedOk},
    versions: {ours: ourVersion, mosquitto: mosq ? mosquittoVersion(mosq) : null, node: process.version},
    scale,
    rounds: o.rounds,
    scenarios: [...scenarios, ...clusterScenarios].map((s) => ({id: s.id, title: s.title})),
    notes,
    runs,
  }
  writeResults(o.out, results)
  return results
}

function fmt(m: Metrics): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v ?? '-'}`)
    .join(' ')
}
