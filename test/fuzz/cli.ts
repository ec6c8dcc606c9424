/**
 * `npm run fuzz` — the broker's mutation fuzzer (test/fuzz/run.ts), reproducible by seed:
 *
 *   npm run fuzz -- [--seed N] [--packets 1000000] [--concurrency 64] [--hang-ms 5000]
 *   npm run fuzz -- --seed N --replay I      # connection I of that run alone (a crash report names it)
 *
 * Exit 0: no crash, no hang, no bystander message lost, broker heap back within 16 MB of its
 * baseline. Exit 1 otherwise (the summary says which); exit 2 for a bad option.
 */
import {parseArgs} from 'node:util'
import {HEAP_SLACK} from './limits.js'
import {describeResult, runFuzz} from './run.js'

function intOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} ${raw}: expected an integer from ${min} to ${max}\n`)
    process.exit(2)
  }
  return n
}

const {values} = parseArgs({
  options: {
    seed: {type: 'string'},
    packets: {type: 'string'},
    concurrency: {type: 'string'},
    'hang-ms': {type: 'string'},
    replay: {type: 'string'},
  },
})
const seed = intOption('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1)
const packets = intOption('packets', values.packets, 1_000_000, 1, 1_000_000_000)
const concurrency = intOption('concurrency', values.concurrency, 64, 1, 2_000)
const hangMs = intOption('hang-ms', values['hang-ms'], 5000, 100, 600_000)
const only = values.replay === undefined ? undefined : intOption('replay', values.replay, 0, 0, 1_000_000_000)

process.stdout.write(`fuzz: seed ${seed}, ${only === undefined ? `${packets.toLocaleString('en')} packets, ${concurrency} connections at once` : `replaying connection ${only}`}\n`)
const result = await runFuzz({seed, packets, concurrency, hangMs, only, log: (l) => process.stdout.write(`${l}\n`)})
process.stdout.write(`${describeResult(result)}\n`)
const heapGrowth = result.after && result.before ? result.after.heapUsed - result.before.heapUsed : 0
const failures = [
  result.crashed && 'the broker crashed',
  result.hangs > 0 && `${result.hangs} hangs`,
  result.bystanderLost > 0 && `${result.bystanderLost} bystander messages lost`,
  heapGrowth > HEAP_SLACK && `heap grew by ${(heapGrowth / 1048576).toFixed(1)} MB`,
].filter(Boolean)
if (failures.length > 0) {
  process.stdout.write(`FAIL: ${failures.join(', ')}\n`)
  process.exit(1)
}
process.stdout.write('PASS\n')
process.exit(0)
