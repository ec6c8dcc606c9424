import {BenchCommand, benchFlags} from '../../src/cli/bench-command.js'
import {runSuite} from '../../src/bench/suite/index.js'
import {renderMarkdown, type SuiteResults, type Verdict, verdicts} from '../../src/bench/suite/report.js'

/** `bench suite --json`: every scenario's rounds and medians, and each target with its verdict. */
export type SuiteJson = SuiteResults & {verdicts: Verdict[]}

export default class BenchSuite extends BenchCommand {
  static command = 'suite' as const

  static summary = 'Our broker vs Mosquitto side by side; writes bench/RESULTS.md (what `npm run bench` runs)'

  static description = 'Starts our broker and Debian\'s Mosquitto, pins each to its own core where it can, and runs every scenario on a fresh broker, alternating A B / B A for --rounds rounds. Writes RESULTS.md and results.json (default: bench/). Every broker it started is stopped at the end, also on error or Ctrl-C.'

  static examples = ['<%= config.bin %> bench suite --quick', '<%= config.bin %> bench suite --only fanin,pairs --rounds 1']

  static flags = benchFlags('suite')

  async run(): Promise<SuiteJson> {
    const {flags} = await this.parse(BenchSuite)
    const r = await runSuite({
      rounds: flags.rounds,
      quick: flags.quick,
      only: flags.only?.split(',').filter(Boolean),
      out: flags.out,
      mosquittoOnly: flags['mosquitto-only'],
      brokerWorkers: flags['broker-workers'],
      log: (line) => this.say(line),
    })
    if (!this.jsonEnabled()) this.log(renderMarkdown(r))
    return {...r, verdicts: verdicts(r)}
  }
}
