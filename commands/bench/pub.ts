import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchPub extends BenchLoadCommand {
  static command = 'pub' as const

  static summary = 'Publishers only: -c publishers on --topic'

  static examples = [
    '<%= config.bin %> bench pub -p 1884 -c 10 --duration 10',
  ]

  static flags = benchFlags('pub')
}
