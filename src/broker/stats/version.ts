/** The package version, for $SYS/broker/version and mqtt_broker_info (read once from package.json). */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let cached: string | undefined

/** "mqttctl 0.1.0"; sources run from src/ and builds from dist/src/, so walk up to package.json. */
export function brokerVersion(): string {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {name?: string; version?: string}
      if (pkg.name === 'mqttctl') return (cached = `mqttctl ${pkg.version ?? 'unknown'}`)
    } catch {
      // not here: keep walking up
    }
    dir = dirname(dir)
  }
  return (cached = 'mqttctl unknown')
}
