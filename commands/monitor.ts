import {Flags, ux} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {parseCount} from '../src/sizing/index.js'
import {type MonitorJson, runMonitor} from '../src/monitor/run.js'
import {MAX_NODE_URLS} from '../src/monitor/cluster-nodes.js'

export type {MonitorJson}

export default class Monitor extends BaseCommand {
  static summary = "Watch a broker's statistics live: connections, rates, cache hits, warnings"

  static description = `Subscribes to the broker's $SYS/# topics with MQTT.js (works with Mosquitto too; figures it does not publish show as n/a). On a cluster node (docs/scale-out.md) also the node's name, its NATS link, its messages to and from NATS, the nodes heard from and the cluster's totals ($SYS/broker/mqttctl/cluster/..., "cluster" in --json). On a terminal: a dashboard redrawn in place on every statistics tick; q or Ctrl-C quits. Piped, or with --interval: one plain line per update (or per --interval). --once prints one snapshot and exits; --json prints JSON (one object a line with --interval).

Warnings: connections above 80 % of the limit (the headroom plan sizes for), cache hit below 90 %, orphan sessions or dropped messages rising, memory above the plan for the live connections, a cluster node without its NATS link, JetStream copies for persistent sessions refused or dropped.

Exit codes: 0 ok, 1 the broker could not be reached (or sent no $SYS) within --timeout, 2 bad flag.`

  static examples = [
    '<%= config.bin %> monitor',
    '<%= config.bin %> monitor --url mqtt://broker.example:1883 -u admin -P secret',
    '<%= config.bin %> monitor --once --json',
    '<%= config.bin %> monitor --json --interval 10 >> stats.jsonl',
    '<%= config.bin %> monitor --url mqtt://node-1:1883 --node mqtt://node-2:1883 --node mqtt://node-3:1883',
  ]

  static enableJsonFlag = true

  static flags = {
    url: Flags.string({default: 'mqtt://127.0.0.1:1883', env: 'MQTTCTL_URL', helpValue: 'URL', description: 'broker to watch (mqtt:// or mqtts://)'}),
    username: Flags.string({char: 'u', env: 'MQTTCTL_USERNAME', description: 'MQTT username'}),
    password: Flags.string({char: 'P', env: 'MQTTCTL_PASSWORD', description: 'MQTT password (prefer MQTTCTL_PASSWORD over the command line)'}),
    'client-id': Flags.string({description: 'MQTT client id (default: mqttctl-monitor-<pid>-<random>)'}),
    once: Flags.boolean({exclusive: ['interval'], description: 'print one snapshot and exit'}),
    'heap-limit': Flags.string({helpValue: 'MB', env: 'MQTTCTL_HEAP_LIMIT', description: 'V8 heap limit to warn against (above 85 %) when the broker does not publish its own ($SYS/broker/mqttctl/process/heap/limit, which mqttctl brokers do)'}),
    interval: Flags.string({helpValue: 'SECONDS', description: 'print a line (or JSON object) every SECONDS, 1 to 86,400, instead of the dashboard or a line on each broker update'}),
    timeout: Flags.string({default: '5', helpValue: 'SECONDS', description: 'give up when the broker cannot be reached, or sends no $SYS, within SECONDS (1 to 3,600)'}),
    node: Flags.string({multiple: true, helpValue: 'URL', description: 'another node of the same cluster to show in a per-node table beside --url (repeat for each node, at most 32; same credentials): $SYS is per node'}),
    color: Flags.boolean({allowNo: true, description: 'colour the dashboard (default: on when stdout is a terminal and NO_COLOR is not set)'}),
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
    const interval = flags.interval === undefined ? undefined : parseCount(flags.interval, {name: '--interval', min: 1, max: 86_400, unit: 'seconds'})
    const timeout = parseCount(flags.timeout, {name: '--timeout', min: 1, max: 3_600, unit: 'seconds'})
    const heapLimitMb = flags['heap-limit'] === undefined ? undefined : parseCount(flags['heap-limit'], {name: '--heap-limit', min: 16, max: 1_048_576, unit: 'MB'})
    if (flags.once && interval !== undefined) return this.fail('--once and --interval are not allowed together; --once prints one snapshot, --interval one every SECONDS', 2)
    if (!/^mqtts?:\/\/[^/\s]+/i.test(flags.url)) {
      return this.fail(`--url ${JSON.stringify(flags.url)} is not allowed; allowed: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (e.g. mqtt://127.0.0.1:1883)`, 2)
    }
    const nodeUrls = flags.node ?? []
    if (nodeUrls.length > MAX_NODE_URLS) return this.fail(`--node is given ${nodeUrls.length} times; allowed: at most ${MAX_NODE_URLS}`, 2)
    for (const u of nodeUrls) if (!/^mqtts?:\/\/[^/\s]+$/i.test(u)) return this.fail(`--node ${JSON.stringify(u)} is not allowed; allowed: mqtt://HOST[:PORT] or mqtts://HOST[:PORT], one node each`, 2)
    const json = this.jsonEnabled()
    this.#streamed = json && interval !== undefined && !flags.once
    return runMonitor({
      url: flags.url,
      username: flags.username,
      password: flags.password,
      clientId: flags['client-id'],
      timeoutSeconds: timeout,
      heapLimitBytes: heapLimitMb === undefined ? undefined : heapLimitMb * 2 ** 20,
      nodeUrls,
      intervalSeconds: interval,
      once: flags.once,
      json,
      color: flags.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR),
      out: process.stdout,
      input: process.stdin,
      // this.log() is silent under --json; streamed JSON lines must still reach stdout.
      print: (line) => ux.stdout(line),
    })
  }
}
