/**
 * The process entry `mqttctl build` bundles into bin/ (broker.mjs, or the single executable's
 * script). It is src/broker/main.ts plus the layout's defaults (src/build/defaults.ts): the same
 * options as `mqttctl start`, defaulting to <install>/etc/broker.json and <install>/data.
 * Never imported by the CLI: the constants below exist only in a bundle (esbuild `define`).
 */
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {runMain} from '../broker/process/run-main.js'
import {withLayoutDefaults} from './defaults.js'

declare const __MQTTCTL_VERSION__: string
declare const __MQTTCTL_OPTIMIZE__: 'fast' | 'small' | 'safe'

if (__MQTTCTL_OPTIMIZE__ === 'safe') {
  // Stack traces point at the TypeScript sources through the inline source map.
  process.setSourceMapsEnabled(true)
}
process.env.MQTTCTL_VERSION ??= __MQTTCTL_VERSION__

// bin/broker.mjs, or bin/mqtt-broker when this is a single executable (import.meta.url is then
// defined as the executable's own path).
const root = dirname(dirname(fileURLToPath(import.meta.url)))

runMain(withLayoutDefaults(process.argv.slice(2), process.env, root), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  },
)
