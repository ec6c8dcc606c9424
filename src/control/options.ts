/**
 * The CLI's side of the broker options: what only `mqttctl` does with them (the runtime's argument
 * list, the data directory stop/status/reload look in, a `mqttctl build` layout's defaults). The
 * option table, parsing and configuration loading are the runtime's (src/broker/process/options.ts)
 * and re-exported here, so every command imports its options from one module.
 */
import {loadConfig} from '../config/index.js'
import {layoutDefaults} from '../build/defaults.js'
import {BROKER_OPTIONS, type BrokerSettings, parseBrokerOptions} from '../broker/process/options.js'

export * from '../broker/process/options.js'

/** Argument list for the runtime that reproduces these settings (flags only; env is inherited). */
export function toRuntimeArgs(settings: BrokerSettings): string[] {
  const args: string[] = []
  if (settings.config) args.push('--config', settings.config)
  for (const opt of BROKER_OPTIONS) {
    const v = settings.values[opt.flag]
    if (v === undefined) continue
    if (opt.kind === 'bool') {
      if (v) args.push(`--${opt.flag}`)
    } else args.push(`--${opt.flag}`, String(v))
  }
  return args
}

/** The data directory `stop`/`status` look in: --data-dir, else the configuration's (file, env), else ./data. */
export function locateDataDir(raw: {config?: string; 'data-dir'?: string}, env: Record<string, string | undefined> = {}): string {
  const settings = parseBrokerOptions({config: raw.config, 'data-dir': raw['data-dir']})
  if (settings.values['data-dir'] !== undefined) return settings.values['data-dir'] as string
  return loadConfig({file: settings.config, env: {MQTTCTL_DATA_DIR: env.MQTTCTL_DATA_DIR}}).config.dataDir
}

/**
 * `start --runtime DIR` on a `mqttctl build` layout: without --config / --data-dir the built broker
 * reads DIR/etc/broker.json and keeps its data under DIR (src/build/defaults.ts). Start applies the
 * same rule before loading the configuration, so its pid-file checks, readiness wait, and the
 * `stop --data-dir` hint it prints look where the broker will write.
 */
export function applyLayoutDefaults(settings: BrokerSettings, root: string, env: Record<string, string | undefined>): BrokerSettings {
  const given = settings.values['data-dir']
  const defaults = layoutDefaults(root, {config: settings.config, dataDir: given === undefined ? undefined : String(given)}, env)
  return {
    config: settings.config ?? defaults.config,
    values: defaults.dataDir === undefined ? settings.values : {...settings.values, 'data-dir': defaults.dataDir},
  }
}
