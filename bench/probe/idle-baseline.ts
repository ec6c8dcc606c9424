/**
 * Idle baseline probe: the memory of a broker with no client, ours side by side with Mosquitto, each
 * started the way the bench suite starts it (our compiled entry with the launchers' Node.js flags and
 * the suite's arguments; Mosquitto with the suite's configuration). Two samples per start:
 * - +0.3 s after it accepts connections: what the suite's idle scenarios take as their starting RSS;
 * - after --settle seconds with nothing to do: V8's memory reducer has run by then (new space shrunk).
 * RSS, PSS and USS (private pages) from /proc/PID/smaps_rollup; medians over --rounds starts.
 * RSS counts the node binary's file pages (shared with every Node.js process); USS is what this
 * process alone costs.
 *
 *   npm run build && node --import tsx bench/probe/idle-baseline.ts [--rounds 3] [--settle 20]
 *       [--entry dist/src/broker/main.js] [--bundle DIR/bin/broker.mjs] [--no-mosquitto]
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {parseArgs} from 'node:util'
import {findMosquitto, freePort, startMosquitto, stopper, waitForPort, type RunningBroker} from '../../src/bench/brokers.js'
import {BROKER_NODE_FLAGS} from '../../src/broker/node-flags.js'

const {values} = parseArgs({
  options: {
    rounds: {type: 'string', default: '3'},
    settle: {type: 'string', default: '20'},
    entry: {type: 'string', default: 'dist/src/broker/main.js'},
    bundle: {type: 'string'},
    'no-mosquitto': {type: 'boolean', default: false},
  },
})

function count(name: string, text: string, min: number, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} ${JSON.stringify(text)} is not allowed: a whole number from ${min} to ${max}`)
  return n
}
const ROUNDS = count('rounds', values.rounds!, 1, 20)
const SETTLE_S = count('settle', values.settle!, 0, 600)

interface Memory {
  rss: number
  pss: number
  uss: number
}

/** MB figures of one process from smaps_rollup (Private_Clean + Private_Dirty = USS). */
function memory(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
  return {rss: kb('Rss') / 1024, pss: kb('Pss') / 1024, uss: (kb('Private_Clean') + kb('Private_Dirty')) / 1024}
}

/** Our broker from a JavaScript entry (compiled dist or a build's bin/broker.mjs), as the suite's startOurs passes it. */
async function startNode(name: string, entry: string, port: number): Promise<RunningBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-idle-baseline-'))
  const args = [...BROKER_NODE_FLAGS, entry, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'warn', '--max-connections', '100000']
  const child = spawn(process.execPath, args, {stdio: ['ignore', 'ignore', 'inherit']})
  const stop = stopper(child, () => rmSync(dir, {recursive: true, force: true}))
  try {
    await waitForPort(port, 20_000, child)
  } catch (error) {
    await stop()
    throw new Error(`${name} did not start: ${(error as Error).message}`)
  }
  return {name: 'ours', pid: child.pid!, port, version: name, stop}
}

type Starter = {name: string; start: (port: number) => Promise<RunningBroker>}
const starters: Starter[] = []
for (const [name, file] of [['ours (dist)', values.entry!], ['ours (bundle)', values.bundle]] as const) {
  if (file === undefined) continue
  const entry = resolve(file)
  if (!existsSync(entry)) throw new Error(`${entry} does not exist (npm run build, or mqttctl build -o DIR for --bundle DIR/bin/broker.mjs)`)
  starters.push({name, start: (port) => startNode(name, entry, port)})
}
const mosquitto = values['no-mosquitto'] ? null : findMosquitto(false)
if (mosquitto) starters.push({name: 'mosquitto', start: (port) => startMosquitto(mosquitto, {port})})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const samples = new Map<string, Array<{early: Memory; settled: Memory}>>()
for (let round = 1; round <= ROUNDS; round++) {
  for (const s of round % 2 === 1 ? starters : [...starters].reverse()) {
    const broker = await s.start(await freePort())
    try {
      await sleep(300)
      const early = memory(broker.pid)
      await sleep(SETTLE_S * 1000)
      const settled = memory(broker.pid)
      samples.set(s.name, [...(samples.get(s.name) ?? []), {early, settled}])
      process.stderr.write(`round ${round} ${s.name}: +0.3 s RSS ${early.rss.toFixed(1)} MB, after ${SETTLE_S} s RSS ${settled.rss.toFixed(1)} MB\n`)
    } finally {
      await broker.stop()
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mb = (x: number) => x.toFixed(1).padStart(6)
console.log(`idle baseline, median of ${ROUNDS} starts (MB): +0.3 s after listening | after ${SETTLE_S} s idle`)
console.log(`${'broker'.padEnd(14)}   RSS    PSS    USS |   RSS    PSS    USS`)
for (const [name, runs] of samples) {
  const m = (k: 'early' | 'settled', f: keyof Memory) => mb(median(runs.map((r) => r[k][f])))
  console.log(`${name.padEnd(14)} ${m('early', 'rss')} ${m('early', 'pss')} ${m('early', 'uss')} | ${m('settled', 'rss')} ${m('settled', 'pss')} ${m('settled', 'uss')}`)
}
