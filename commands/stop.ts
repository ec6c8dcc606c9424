import {Flags} from '@oclif/core'
import {ConfigError} from '../src/config/index.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {locateFlags} from '../src/cli/broker-flags.js'
import {EXIT} from '../src/broker/process/errors.js'
import {locateDataDir} from '../src/control/options.js'
import {brokerFiles} from '../src/broker/process/state.js'
import {stopBroker, type StopResult} from '../src/control/stop.js'

export type {StopResult}

export default class Stop extends BaseCommand {
  static summary = 'Stop the broker of a data directory: SIGTERM, then SIGKILL after --timeout'

  static description = `Finds the broker the way start was told (--data-dir, --config, MQTTCTL_DATA_DIR, default ./data).
Exit codes: 0 stopped, 1 could not stop it, 2 bad flag, 3 no broker was running.`

  static examples = ['<%= config.bin %> stop', '<%= config.bin %> stop --data-dir /var/lib/mqttctl --timeout 30']

  static enableJsonFlag = true

  static flags = {
    ...locateFlags,
    timeout: Flags.string({helpValue: 'SECONDS', default: '10', description: 'seconds to wait for a graceful stop before killing the broker'}),
  }

  async run(): Promise<StopResult> {
    const {flags} = await this.parse(Stop)
    const seconds = Number(flags.timeout)
    if (!/^\d+(\.\d+)?$/.test(flags.timeout.trim()) || seconds > 3600) {
      throw new ConfigError('timeout', `--timeout ${JSON.stringify(flags.timeout)} is not allowed: expected seconds from 0 to 3600`)
    }
    const files = brokerFiles(locateDataDir(flags, process.env))
    const result = await stopBroker(files, {timeoutMs: seconds * 1000, onWarn: (m) => process.stderr.write(`Warning: ${m}\n`)})
    if (!result.stopped) {
      if (this.jsonEnabled()) this.logJson(result)
      else {
        if (result.stalePid !== null) this.log(`removed a stale pid file (pid ${result.stalePid} is not running)`)
        this.log(`no broker is running on data directory ${files.dataDir}; nothing to stop`)
      }
      this.exit(EXIT.notRunning)
    }
    if (!this.jsonEnabled()) this.log(`broker stopped (pid ${result.pid}${result.forced ? ', killed' : ''})`)
    return result
  }
}
