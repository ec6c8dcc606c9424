import {BenchCommand, benchFlags} from '../../src/cli/bench-command.js'
import {calibrate} from '../../src/bench/calibrate.js'
import type {RuntimeProfile} from '../../src/sizing/runtime-profile.js'

/** `bench calibrate --json`: the profile measured on this host. */
export type CalibrateJson = RuntimeProfile

export default class BenchCalibrate extends BenchCommand {
  static command = 'calibrate' as const

  static summary = 'Measure our broker on this host and save this host\'s runtime profile, which plan then uses'

  static examples = ['<%= config.bin %> bench calibrate', '<%= config.bin %> bench calibrate --connections 10000 --json']

  static flags = benchFlags('calibrate')

  async run(): Promise<CalibrateJson> {
    const {flags} = await this.parse(BenchCalibrate)
    const p = await calibrate({connections: flags.connections, profilePath: flags.profile, log: (line) => this.say(line)})
    if (!this.jsonEnabled()) this.log(JSON.stringify(p, null, 2))
    return p
  }
}
