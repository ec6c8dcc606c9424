/**
 * What mqtt-packet's `require('debug')(namespace)` returns inside the broker (./mqtt-packet.ts): the
 * `debug` package's logger when the DEBUG environment variable is set (so `DEBUG=mqtt-packet:*` logs
 * exactly as before), else a function that does nothing. With DEBUG unset, `debug` would log nothing
 * either; loading it anyway costs about 1 MB of RSS (it loads tty, supports-color and ms).
 * No imports of our own: src/build/bundle.ts maps mqtt-packet's `debug` to this module.
 */
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)

type Log = (...args: unknown[]) => void

function off(): void {}

export function mqttPacketDebug(namespace: string): Log {
  if (!process.env.DEBUG) return off
  return (require('debug') as (ns: string) => Log)(namespace)
}
