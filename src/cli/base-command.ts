/**
 * BaseCommand: what every mqttctl command shares — one-line errors with fixed exit codes.
 *
 * A ConfigError (bad flag, environment value or configuration file) exits 2; a ControlError exits
 * with its own code (1 failure, 3 not running). Both print exactly one line, `Error: <message>`,
 * on stderr (or `{"error": {...}}` on stdout with --json), never a stack, even under bin/dev.js.
 */
import {Command} from '@oclif/core'
import {ConfigError} from '../config/index.js'
import {ControlError, exitCodeOf} from '../control/errors.js'

export abstract class BaseCommand extends Command {
  /** Prints one error line and exits with `code`. */
  protected fail(message: string, code: number): never {
    if (this.jsonEnabled()) this.logJson({error: {message, exitCode: code}})
    else process.stderr.write(`Error: ${message}\n`)
    return this.exit(code)
  }

  protected async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof ConfigError || err instanceof ControlError) this.fail(err.message, exitCodeOf(err))
    // this.exit() / fail(): already reported; let oclif exit with its code without printing again.
    if ((err as {code?: string}).code === 'EEXIT') throw err
    return super.catch(err)
  }
}
