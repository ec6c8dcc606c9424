import {BenchLoadCommand, benchFlags} from '../../src/cli/bench-command.js'

export default class BenchConn extends BenchLoadCommand {
  static command = 'conn' as const

  static summary = 'Hold connections (--subscribe: one subscription each) for --duration and report the connect rate'

  static examples = [
    '<%= config.bin %> bench conn -c 10000 --duration 30',
    '<%= config.bin %> bench conn -c 50000 -d 60 --subscribe --ifaddr 127.0.0.2,127.0.0.3 -w 2',
  ]

  static flags = benchFlags('conn')
}
