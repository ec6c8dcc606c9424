import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchLatency extends BenchLoadCommand {
  static command = 'latency' as const

  static summary = 'A paced pubsub: one pair at --rate 5000, latency percentiles'

  static examples = [
    '<%= config.bin %> bench latency --rate 5000 --json',
  ]

  static flags = benchFlags('latency')
}
