import {Flags, ux} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {type MonitorJson, runMonitor} from '../src/monitor/run.js'
import {MonitorError} from '../src/monitor/sys-client.js'

export type {MonitorJson}

export default class Monitor extends BaseCommand {
  static summary = "Watch a broker's statistics live: connections against the limit, message and byte rates, cache hits, warnings."

  static description = `Subscribes to the broker's $SYS/# topics with MQTT.js (works with Mosquitto too; figures it does not
publish show as n/a). On a terminal: a dashboard redrawn in place on every statistics tick; q or Ctrl-C quits.
Piped: one plain line per update (or per --interval). --once prints one snapshot and exits; --json prints
JSON (one object a line with --interval). Warnings: connections above 80 % of the limit, cache hit below
90 %, orphan sessions or dropped messages rising, memory above the plan for the live connections.
Exit codes: 0 ok, 1 the broker could not be reached (or sent no $SYS) within --timeout, 2 bad flag.`

  static examples = [
    '<%= config.bin %> monitor',
    '<%= config.bin %> monitor --url mqtt://broker.example:1883 -u admin -P secret',
    '<%= config.bin %> monitor --once --json',
    '<%= config.bin %> monitor --json --interval 10 >> stats.jsonl',
  ]

  static enableJsonFlag = true

  static flags = {
    url: Flags.string({default: 'mqtt://127.0.0.1:1883', env: 'MQTTCTL_URL', helpValue: 'URL', description: 'broker to watch (mqtt:// or mqtts://)'}),
    username: Flags.string({char: 'u', env: 'MQTTCTL_USERNAME', description: 'MQTT username'}),
    password: Flags.string({char: 'P', env: 'MQTTCTL_PASSWORD', description: 'MQTT password (prefer MQTTCTL_PASSWORD over the command line)'}),
    'client-id': Flags.string({description: 'MQTT client id (default: mqttctl-monitor-<pid>-<random>)'}),
    once: Flags.boolean({description: 'print one snapshot and exit'}),
    interval: Flags.integer({min: 1, max: 86_400, helpValue: 'SECONDS', description: 'print a line (or JSON object) every SECONDS instead of on each broker update'}),
    timeout: Flags.integer({min: 1, max: 3600, default: 5, helpValue: 'SECONDS', description: 'give up when the broker cannot be reached, or sends no $SYS, within SECONDS'}),
    color: Flags.boolean({allowNo: true, description: 'colour the dashboard (default: on a terminal)'}),
  }

  /** Streaming --json prints its own lines; the final return value must not be printed again. */
  #streamed = false

  /** One compact JSON object a line, so the output is JSON Lines for scripts. */
  logJson(json: unknown): void {
    if (this.#streamed && !(json && typeof json === 'object' && 'error' in json)) return
    ux.stdout(JSON.stringify(json))
  }

  async run(): Promise<MonitorJson> {
    const {flags} = await this.parse(Monitor)
    const json = this.jsonEnabled()
    this.#streamed = json && flags.interval !== undefined && !flags.once
    try {
      return await runMonitor({
        url: flags.url,
        username: flags.username,
        password: flags.password,
        clientId: flags['client-id'],
        timeoutSeconds: flags.timeout,
        intervalSeconds: flags.interval,
        once: flags.once,
        json,
        color: flags.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR),
        out: process.stdout,
        input: process.stdin,
        // this.log() is silent under --json; streamed JSON lines must still reach stdout.
        print: (line) => ux.stdout(line),
      })
    } catch (error) {
      if (error instanceof MonitorError) this.fail(error.message, 1)
      throw error
    }
  }
}
