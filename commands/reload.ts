import {Flags} from '@oclif/core'
import {ConfigError} from '../src/config/index.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {locateFlags} from '../src/cli/broker-flags.js'
import {EXIT} from '../src/broker/process/errors.js'
import {locateDataDir} from '../src/control/options.js'
import {reloadBroker, type ReloadResult} from '../src/control/reload.js'
import {brokerFiles} from '../src/broker/process/state.js'

export type {ReloadResult}

export default class Reload extends BaseCommand {
  static summary = 'Make a running broker re-read its password file, ACL file and TLS certificates (SIGHUP)'

  static description = `Connections stay up. A file that cannot be used is not loaded: the broker keeps the previous one and says why.
Finds the broker the way start was told (--data-dir, --config, MQTTCTL_DATA_DIR, default ./data). A foreground broker reloads on \`kill -HUP <pid of mqttctl start>\` too.
Exit codes: 0 reloaded, 1 a file was kept (see the lines) or no answer, 2 bad flag, 3 no broker was running.`

  static examples = ['<%= config.bin %> reload', '<%= config.bin %> reload --data-dir /var/lib/mqttctl']

  static enableJsonFlag = true

  static flags = {
    ...locateFlags,
    timeout: Flags.string({helpValue: 'SECONDS', default: '10', description: 'seconds to wait for the broker\'s answer'}),
  }

  async run(): Promise<ReloadResult> {
    const {flags} = await this.parse(Reload)
    const seconds = Number(flags.timeout)
    if (!/^\d+(\.\d+)?$/.test(flags.timeout.trim()) || seconds <= 0 || seconds > 600) {
      throw new ConfigError('timeout', `--timeout ${JSON.stringify(flags.timeout)} is not allowed: expected seconds from 0.1 to 600`)
    }
    const files = brokerFiles(locateDataDir(flags, process.env))
    const result = await reloadBroker(files, seconds * 1000)
    const ok = result.report?.ok === true
    if (this.jsonEnabled()) {
      if (!ok) {
        this.logJson(result)
        this.exit(EXIT.failure)
      }
      return result
    }
    if (result.report === undefined) {
      this.log(`sent SIGHUP to the broker (pid ${result.pid}); it did not report a reload within ${seconds} s: see its log`)
      this.exit(EXIT.failure)
    }
    for (const line of result.report!.lines) this.log(line)
    if (result.report!.lines.length === 0) this.log('reloaded (no password file, ACL file or TLS listener configured)')
    if (!ok) this.exit(EXIT.failure)
    return result
  }
}
