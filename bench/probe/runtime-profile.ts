/**
 * Measures the runtime profile the package ships (src/sizing/runtime-profile.json) on this host,
 * with the same steps `mqttctl plan --verify` runs (src/bench/measure.ts), at the reference sizes.
 *
 *   node --import tsx bench/probe/runtime-profile.ts [--connections 10000] [--out src/sizing/runtime-profile.json]
 */
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {measure} from '../../src/bench/measure.js'
import {profileFrom} from '../../src/bench/runtime-profile.js'
import {saveRuntimeProfile} from '../../src/sizing/runtime-profile.js'

const {values} = parseArgs({options: {connections: {type: 'string', default: '10000'}, out: {type: 'string'}, settle: {type: 'string', default: '6000'}, tls: {type: 'string', default: '2000'}, compiled: {type: 'boolean', default: false}}})
// --compiled: the broker as the package ships it (dist/src/broker/main.js after `npm run build`), not through tsx.
const main = fileURLToPath(new URL('../../dist/src/broker/main.js', import.meta.url))
if (values.compiled && !existsSync(main)) throw new Error(`${main} is missing; run npm run build first`)
const connections = Number(values.connections)
const spec = {
  connections,
  subsPerConnection: 1,
  payloadBytes: 256,
  qos: 1 as const,
  msgRate: 10_000,
  broadcastSubscribers: Math.min(connections, 10_000),
  queuedMessages: 20_000,
  retainedMessages: 20_000,
  tlsConnections: Number(values.tls),
  settleMs: Number(values.settle),
  log: (line: string) => process.stderr.write(`${line}\n`),
  entry: values.compiled ? {cmd: process.execPath, args: [main]} : undefined,
}
const m = await measure(spec)
const argv = process.argv.slice(2).join(' ')
const profile = profileFrom(m, spec, 'shipped', `node --import tsx bench/probe/runtime-profile.ts${argv ? ` ${argv}` : ''}`)
console.log(JSON.stringify({measurement: m, figures: profile.figures}, null, 2))
if (values.out) saveRuntimeProfile(values.out, profile)
process.exit(0)
