import {Args} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'
import {BENCH_COMMANDS} from '../../src/cli/bench-command.js'
import type {BenchResult} from '../../src/bench/index.js'
import type {CalibrateJson} from './calibrate.js'
import type {SuiteJson} from './suite.js'

/** What `bench <mode> --json` prints, whichever mode ran. */
export type BenchJson = BenchResult | SuiteJson | CalibrateJson

export default class Bench extends BaseCommand {
  static summary = 'Load-test an MQTT broker, run the performance suite, or calibrate sizing'

  static description = `A built-in load generator on raw sockets with pre-encoded packets; each mode is its own command (mqttctl bench MODE --help shows its flags). Every run stops by itself (--duration or --count) and only targets loopback unless --allow-remote is given.

Modes: conn (hold connections), pub (publishers only), sub (subscribers only: -c subscribers), pubsub (publishers and subscribers), fanout (one publisher, -c subscribers on one topic), latency (a paced pubsub). A flag that does not apply to the mode is refused.
  suite      our broker vs Mosquitto side by side, writes bench/RESULTS.md (what \`npm run bench\` runs)
  calibrate  measures our broker on this host and saves it as this host's runtime profile, which plan then uses

Exit codes: 0 ok, 1 connections failed or messages lost, 2 bad flag or refused target.`

  static examples = [
    '<%= config.bin %> bench pub -p 1884 -c 10 --duration 10',
    '<%= config.bin %> bench latency --rate 5000 --json',
    '<%= config.bin %> bench suite --quick',
  ]

  // oclif runs `bench MODE ...` as the command commands/bench/MODE.ts; this one is reached only without
  // a known MODE, and then says which modes exist (flags are checked by the mode's own command).
  static strict = false

  static args = {
    mode: Args.string({description: 'what to run', required: true, options: [...BENCH_COMMANDS]}),
  }

  async run(): Promise<BenchJson> {
    const {args} = await this.parse(Bench)
    return this.config.runCommand<BenchJson>(`bench:${args.mode}`, this.argv.slice(1))
  }
}
