/**
 * oclif flags for the broker's options, derived from the one table in src/control/options.ts so
 * `mqttctl start` and the runtime (`src/broker/main.ts`) take the same names. Values stay strings
 * here and are parsed by parseBrokerOptions, so a bad value gives the same one-line message in both.
 */
import {Flags, type Interfaces} from '@oclif/core'
import {BROKER_OPTIONS} from '../control/options.js'

export const configFlag = Flags.string({
  char: 'c',
  helpValue: 'FILE',
  description: 'JSON configuration file (as `mqttctl plan --write` produces); MQTTCTL_* environment variables and flags override it',
})

export const dataDirFlag = Flags.string({
  char: 'd',
  helpValue: 'DIR',
  description: 'data directory of the broker (default: the configuration\'s dataDir, MQTTCTL_DATA_DIR, else ./data)',
})

function optionFlags() {
  const flags: Record<string, Interfaces.OptionFlag<string | undefined> | Interfaces.BooleanFlag<string | boolean | undefined>> = {}
  for (const o of BROKER_OPTIONS) {
    if (o.flag === 'data-dir') continue
    const helpGroup = o.flag.startsWith('tls-') ? 'TLS' : undefined
    flags[o.flag] = o.kind === 'bool' ? Flags.boolean({description: o.help, helpGroup}) : Flags.string({description: o.help, helpValue: o.helpValue, helpGroup})
  }
  return flags
}

/** --config, --data-dir and every broker option (start). */
export const brokerFlags = {config: configFlag, 'data-dir': dataDirFlag, ...optionFlags()}

/** How stop and status find the broker: the same --data-dir / --config as start. */
export const locateFlags = {config: configFlag, 'data-dir': dataDirFlag}
