import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchSub extends BenchLoadCommand {
  static command = 'sub' as const

  static summary = 'Subscribers only: -c subscribers on --topic, counting what someone else publishes'

  static examples = [
    '<%= config.bin %> bench sub -c 100 -t "bench/#" --duration 30',
  ]

  static flags = benchFlags('sub')
}
