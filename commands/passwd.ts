import {Args, Flags} from '@oclif/core'
import {password as promptPassword} from '@inquirer/prompts'
import {BaseCommand} from '../src/cli/base-command.js'
import {DEFAULT_ITERATIONS} from '../src/broker/auth/password-hash.js'
import {checkIterations, checkPassword, PasswdError, type PasswdResult, updatePasswordFile} from '../src/passwd/index.js'

export type {PasswdResult}

export default class Passwd extends BaseCommand {
  static summary = 'Add, change or delete a user in a Mosquitto password file (as mosquitto_passwd does)'

  static description = `Asks for the password twice without echoing it (or takes it as the third argument with -b, for scripts: it is then visible in the process list and shell history).
Writes $7$ (PBKDF2-SHA512) hashes that Mosquitto 2 reads too, with ${DEFAULT_ITERATIONS.toLocaleString('en-US')} iterations unless -I says otherwise; never prints a hash.
The file is replaced atomically with mode 0600; other lines are kept. A running broker reads the change on SIGHUP (\`mqttctl reload\`).
Exit codes: 0 done, 1 could not write / user not found (-D), 2 bad input.`

  static examples = [
    '<%= config.bin %> passwd -c /etc/mqttctl/passwd alice',
    '<%= config.bin %> passwd /etc/mqttctl/passwd bob',
    '<%= config.bin %> passwd -b /etc/mqttctl/passwd sensor-17 "$SENSOR_PASSWORD"',
    '<%= config.bin %> passwd -D /etc/mqttctl/passwd bob',
  ]

  static enableJsonFlag = true

  static args = {
    file: Args.string({required: true, description: 'password file'}),
    user: Args.string({required: true, description: 'user name'}),
    password: Args.string({required: false, description: 'the password, with -b only'}),
  }

  static flags = {
    create: Flags.boolean({char: 'c', description: 'create a new password file (replaces an existing one)'}),
    batch: Flags.boolean({char: 'b', description: 'take the password from the command line (third argument)'}),
    delete: Flags.boolean({char: 'D', description: 'delete the user'}),
    iterations: Flags.string({char: 'I', helpValue: 'N', description: `PBKDF2 iterations (default ${DEFAULT_ITERATIONS.toLocaleString('en-US')}; mosquitto_passwd writes 101)`}),
  }

  async run(): Promise<PasswdResult> {
    const {args, flags} = await this.parse(Passwd)
    const iterations = flags.iterations === undefined ? DEFAULT_ITERATIONS : /^\d+$/.test(flags.iterations.trim()) ? Number(flags.iterations) : Number.NaN
    if (Number.isNaN(iterations)) throw new PasswdError(`--iterations ${JSON.stringify(flags.iterations)} is not allowed: expected an integer`, 2)
    checkIterations(iterations)
    let password: Buffer | undefined
    if (flags.delete) {
      if (args.password !== undefined || flags.batch) throw new PasswdError('-D takes no password', 2)
    } else if (flags.batch) {
      if (args.password === undefined) throw new PasswdError('-b needs the password as the third argument: mqttctl passwd -b FILE USER PASSWORD', 2)
      password = Buffer.from(args.password, 'utf8')
    } else {
      if (args.password !== undefined) throw new PasswdError('a password on the command line needs -b (batch mode); without it you are asked for it', 2)
      password = await this.ask()
    }
    const result = updatePasswordFile({file: args.file, user: args.user, password, create: flags.create, delete: flags.delete, iterations})
    if (!this.jsonEnabled()) this.log(`${result.action} user ${JSON.stringify(result.user)} ${result.action === 'deleted' ? 'from' : 'in'} ${result.file} (${result.users} user${result.users === 1 ? '' : 's'})`)
    return result
  }

  private async ask(): Promise<Buffer> {
    if (!process.stdin.isTTY) throw new PasswdError('no terminal to ask for the password: use -b FILE USER PASSWORD in scripts', 2)
    const first = await promptPassword({message: 'Password:'})
    const pw = Buffer.from(first, 'utf8')
    checkPassword(pw)
    const again = await promptPassword({message: 'Reenter password:'})
    if (again !== first) throw new PasswdError('the passwords do not match; nothing was changed', 2)
    return pw
  }
}
