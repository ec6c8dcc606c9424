import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {brokerFlags} from '../src/cli/broker-flags.js'
import {table} from '../src/cli/render.js'
import {configRows} from '../src/control/config-rows.js'
import {applyLayoutDefaults, loadBrokerConfig, parseBrokerOptions, toRuntimeArgs} from '../src/control/options.js'
import {listenerText} from '../src/net.js'
import {resolveRuntime, withMemoryFlags} from '../src/control/runtime.js'
import {checkNotRunning, runForeground, startDetached} from '../src/control/spawn.js'
import {brokerFiles, type BrokerState} from '../src/broker/process/state.js'
import type {BrokerConfig, Source} from '../src/config/index.js'

/** `start --print-config --json`: the merged configuration and where each value came from. */
export interface PrintedConfig {
  file: string | null
  config: BrokerConfig
  /** Dotted key -> where its value came from. */
  sources: Record<string, Source>
}

/** `start --detach --json`: the running broker, as its broker.json describes it, and its log file. */
export type DetachedBroker = BrokerState & {logFile: string}

/** What `start --json` prints; in the foreground nothing (the broker's log streams instead). */
export type StartResult = PrintedConfig | DetachedBroker | undefined

export default class Start extends BaseCommand {
  static summary = 'Run the MQTT broker in the foreground (default) or in the background (--detach)'

  static description = `Configuration: defaults < --config FILE < MQTTCTL_* environment variables < flags; see it with --print-config.
In the foreground the broker's log streams here and Ctrl-C (SIGINT) or SIGTERM stops it gracefully; mqttctl exits with the broker's status.
With --detach it writes <data-dir>/broker.pid and <data-dir>/broker.log and returns once the broker accepts connections.
Exit codes: 0 ok, 1 the broker could not start (port in use, permission, data directory, already running), 2 bad flag or configuration.`

  static examples = [
    '<%= config.bin %> start',
    '<%= config.bin %> start --port 1884 --data-dir /var/lib/mqttctl',
    '<%= config.bin %> start --config broker.json --print-config',
    '<%= config.bin %> start --detach --data-dir ./data && <%= config.bin %> status',
    '<%= config.bin %> build --out ./mqtt-broker && <%= config.bin %> start --runtime ./mqtt-broker',
  ]

  static enableJsonFlag = true

  static flags = {
    ...brokerFlags,
    detach: Flags.boolean({description: 'run in the background: pid and log files under the data directory; return once listening'}),
    'print-config': Flags.boolean({description: 'print the merged configuration and where each value came from, then exit'}),
    runtime: Flags.string({
      helpValue: 'PATH',
      description: 'broker runtime to run: a `mqttctl build` output directory (bin/mqtt-broker) or that file; default: this package\'s own',
    }),
  }

  async run(): Promise<StartResult> {
    const {flags} = await this.parse(Start)
    let settings = parseBrokerOptions(flags)
    if (settings.config) settings.config = resolve(settings.config)
    let runtime = resolveRuntime(flags.runtime)
    if (runtime.layoutRoot) settings = applyLayoutDefaults(settings, runtime.layoutRoot, process.env)
    const loaded = loadBrokerConfig(settings, process.env)

    if (flags['print-config']) {
      if (this.jsonEnabled()) return {file: loaded.file ?? null, config: loaded.config, sources: loaded.sources}
      this.log(`# configuration: defaults < ${loaded.file ?? '(no --config file)'} < environment < flags`)
      this.log(table([['key', 'value', 'source'], ...configRows(loaded)]))
      return undefined
    }

    const files = brokerFiles(loaded.config.dataDir)
    const {stalePid} = checkNotRunning(files)
    if (stalePid !== undefined) process.stderr.write(`Warning: removed a stale pid file in ${files.dataDir} (pid ${stalePid} is not running)\n`)
    const args = toRuntimeArgs(settings)
    runtime = withMemoryFlags(runtime, loaded.config.runtime)

    if (!flags.detach) {
      const code = await runForeground(runtime, args)
      if (code !== 0) this.exit(code)
      return undefined
    }

    const state = await startDetached(runtime, args, files)
    if (this.jsonEnabled()) return state
    this.log(`broker started in the background: pid ${state.pid}`)
    this.log(
      table(
        [
          ...state.listeners.map((l, i) => [i === 0 ? 'listening' : '', listenerText(l)]),
          ['data dir', state.dataDir],
          ['log file', state.logFile],
          ['stop it', `${this.config.bin} stop --data-dir ${state.dataDir}`],
        ],
        {indent: 2},
      ),
    )
    return undefined
  }
}
