import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchPubsub extends BenchLoadCommand {
  static command = 'pubsub' as const

  static summary = 'Publishers and subscribers: 1:1 pairs by default; --sub-topic "bench/#" --subscribers 1 is fan-in'

  static examples = [
    '<%= config.bin %> bench pubsub -c 100 --subscribers 1 -t "bench/%i" --sub-topic "bench/#" --duration 10',
  ]

  static flags = benchFlags('pubsub')
}
