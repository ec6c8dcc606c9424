import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {locateFlags} from '../src/cli/broker-flags.js'
import {formatBytes, formatInt, outputWidth, table} from '../src/cli/render.js'
import {EXIT} from '../src/broker/process/errors.js'
import {locateDataDir} from '../src/control/options.js'
import {listenerText} from '../src/net.js'
import {brokerFiles} from '../src/broker/process/state.js'
import {formatDuration} from '../src/broker/stats/format.js'
import {brokerStatus, type BrokerStatus} from '../src/control/status.js'

export type {BrokerStatus}

const unknown = 'unknown'
const n = (v: number | null) => (v === null ? unknown : formatInt(v))

/** "3 s old (the broker updates them every 5 s)". */
export function figuresAge(s: Pick<BrokerStatus, 'figuresAgeSeconds' | 'statsIntervalSeconds'>): string {
  const every = s.statsIntervalSeconds === null ? '' : ` (the broker updates them every ${s.statsIntervalSeconds} s)`
  return `${s.figuresAgeSeconds} s old${every}`
}

export default class Status extends BaseCommand {
  static summary = 'Show whether the broker of a data directory runs: pid, uptime, connections, RSS'

  static description = `Finds the broker the way start was told (--data-dir, --config, MQTTCTL_DATA_DIR, default ./data).
Connections and messages come from the broker's retained $SYS topics, which it refreshes every --stats-interval seconds (default 5), so they are not live: status shows how old they are ("figures"), and "unknown" when they cannot be read within about a second (or the broker refuses the login: give -u/-P or MQTTCTL_USERNAME/MQTTCTL_PASSWORD when it has a password file).
Exit codes: 0 running, 3 not running (like systemctl status), 2 bad flag.`

  static examples = ['<%= config.bin %> status', '<%= config.bin %> status --data-dir /var/lib/mqttctl --json']

  static enableJsonFlag = true

  static flags = {
    ...locateFlags,
    username: Flags.string({char: 'u', env: 'MQTTCTL_USERNAME', helpValue: 'NAME', description: 'MQTT username to read $SYS as (a broker with a password file refuses anonymous readers)'}),
    password: Flags.string({char: 'P', env: 'MQTTCTL_PASSWORD', helpValue: 'SECRET', description: 'MQTT password (prefer MQTTCTL_PASSWORD over the command line)'}),
  }

  async run(): Promise<BrokerStatus> {
    const {flags} = await this.parse(Status)
    const status = await brokerStatus(brokerFiles(locateDataDir(flags, process.env)), {credentials: {username: flags.username, password: flags.password}})
    if (!status.running) {
      if (this.jsonEnabled()) this.logJson(status)
      else {
        const stale = status.stalePid === null ? '' : ` (stale pid file: pid ${status.stalePid} is not running)`
        this.log(`broker: not running${stale}`)
        this.log(table([['data dir', status.dataDir]], {indent: 2}))
      }
      this.exit(EXIT.notRunning)
    }
    if (this.jsonEnabled()) return status
    const conns = status.connections === null && status.maxConnections === null ? unknown : `${n(status.connections)} / ${n(status.maxConnections)}`
    this.log(`broker: running`)
    this.log(
      table(
        [
          ['pid', String(status.pid)],
          ['uptime', status.uptimeSeconds === null ? unknown : formatDuration(status.uptimeSeconds)],
          ...(status.listeners.length === 0 ? [['listeners', unknown]] : status.listeners.map((l, i) => [i === 0 ? 'listeners' : '', listenerText(l)])),
          ['connections', conns],
          ['messages', `${n(status.messages.received)} received, ${n(status.messages.sent)} sent`],
          ...(status.figuresAgeSeconds === null ? [] : [['figures', figuresAge(status)]]),
          ['memory (RSS)', status.rssBytes === null ? unknown : formatBytes(status.rssBytes)],
          ...(status.store === null ? [] : [['store', storeText(status.store)]]),
          ['data dir', status.dataDir],
          ...(status.metrics ? [['metrics', `http://${listenerText(status.metrics)}/metrics`]] : []),
          ['version', status.version ?? unknown],
        ],
        {indent: 2, maxWidth: outputWidth()},
      ),
    )
    return status
  }
}

/** "durable, 1.2 MB, 3 persistent sessions, 10 messages, 42 fsyncs (p99 0.8 ms)" or "memory only (persistence none)". */
function storeText(s: NonNullable<BrokerStatus['store']>): string {
  if (!s.durable) return `memory only (persistence none): ${n(s.sessions)} persistent sessions, lost at restart`
  const parts = [`durable${s.degraded ? ' (DEGRADED: cannot write, refusing QoS 1/2 work that needs the disk)' : ''}`, s.bytes === null ? 'size unknown' : formatBytes(s.bytes), `${n(s.sessions)} persistent sessions`, `${n(s.messages)} messages`]
  if (s.fsyncs !== null) parts.push(`${n(s.fsyncs)} fsyncs${s.fsyncP99Ms === null ? '' : ` (p99 ${s.fsyncP99Ms.toFixed(2)} ms)`}`)
  return parts.join(', ')
}
