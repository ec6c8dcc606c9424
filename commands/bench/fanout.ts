import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchFanout extends BenchLoadCommand {
  static command = 'fanout' as const

  static summary = 'One publisher, -c subscribers of one topic: time to the last delivery of each broadcast'

  static examples = [
    '<%= config.bin %> bench fanout -c 15000 --interval 1000 --count 5 --probe --ifaddr 127.0.0.2,127.0.0.3',
  ]

  static flags = benchFlags('fanout')
}
