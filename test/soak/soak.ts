/**
 * Soak: mixed load with connect/disconnect churn against the broker as a child process, then the
 * broker's RSS, heap, open file descriptors and timers compared with their values after warm-up.
 *
 *   node --import tsx test/soak/soak.ts [--seconds 1800] [--clients 200] [--seed N]
 *
 * Load (all on 127.0.0.1, MQTT 3.1.1 and 5): `clients` long-lived subscribers and publishers (QoS 0
 * and 1, retained now and then, wildcard and shared subscriptions) plus churn: every 50 ms one
 * client disconnects (cleanly, abruptly, or with a will) and another connects (clean or persistent
 * with a short expiry). At the end the load stops, every client leaves, persistent sessions are let
 * expire, and the broker's figures are taken after gc. Exit 1 when one is not flat:
 * heap +16 MB, RSS +64 MB, file descriptors +8, timers +4 (the tolerances: V8 and glibc keep some
 * memory they grew into; the broker's own timers are one per deadline wheel).
 * The suite runs a 60-second version (test/soak/soak.test.ts).
 */
import {parseArgs} from 'node:util'
import {runSoak, soakVerdict} from './run.js'

const {values} = parseArgs({options: {seconds: {type: 'string', default: '1800'}, clients: {type: 'string', default: '200'}, seed: {type: 'string', default: '1'}}})
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const seed = Number(values.seed)
for (const [name, v, max] of [['seconds', seconds, 86_400], ['clients', clients, 5_000], ['seed', seed, 2 ** 32 - 1]] as const) {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    process.stderr.write(`--${name} ${values[name]}: expected an integer from 1 to ${max}\n`)
    process.exit(2)
  }
}
const r = await runSoak({seconds, clients, seed, log: (l) => process.stdout.write(`${l}\n`)})
const verdict = soakVerdict(r)
process.stdout.write(`${verdict.summary}\n${verdict.failures.length === 0 ? 'PASS' : `FAIL: ${verdict.failures.join(', ')}`}\n`)
process.exit(verdict.failures.length === 0 ? 0 : 1)
