import {existsSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {runDoctor, type DoctorReport} from '../src/doctor/index.js'
import {renderDoctor} from '../src/doctor/report.js'
import {parseDevices} from '../src/sizing/index.js'

export type {DoctorReport}

export default class Doctor extends BaseCommand {
  static summary = 'Check this machine against the deployment checklist (guide §8)'
  static description = 'Each check passes, warns or fails, with the fix for each: Node.js, configuration, OS limits for the plan, ports 1883/8883, listen address, data directory, log level, monitoring, configuration backup, for a cluster node (cluster.servers) the reachability and version of each NATS server, JetStream and the replicas the NATS cluster can hold, and with --load-test a 20-client run through the broker. Exit 1 when any check fails.'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> doctor --devices 50k', '<%= config.bin %> doctor --config broker.json --load-test', '<%= config.bin %> doctor --config broker.json --json']

  static flags = {
    devices: Flags.string({char: 'n', description: 'devices the deployment must serve (500000, 500k, 1M); default: what the configuration is sized for', helpValue: 'N'}),
    config: Flags.string({char: 'c', description: 'JSON configuration file of the broker (MQTTCTL_* environment variables apply on top, as for start); default: none, the built-in defaults', helpValue: 'FILE'}),
    'load-test': Flags.boolean({description: 'also run 20 clients (10 publishers, 10 subscribers, 1,000 QoS 1 messages) through the running broker'}),
    root: Flags.string({hidden: true, description: 'a copy of / for the OS checks (tests)'}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const devices = flags.devices === undefined ? undefined : parseDevices(flags.devices)
    if (flags.config !== undefined && !existsSync(flags.config)) return this.fail(`--config ${JSON.stringify(flags.config)}: no such file; give the broker's JSON configuration file (mqttctl plan --write FILE makes one)`, 2)
    const report = await runDoctor({devices, configFile: flags.config, env: process.env, loadTest: flags['load-test'], root: flags.root})
    if (!this.jsonEnabled()) this.log(renderDoctor(report))
    if (report.ok) return report
    if (this.jsonEnabled()) this.logJson(report)
    return this.exit(1)
  }
}
