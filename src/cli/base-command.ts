/**
 * BaseCommand: what every mqttctl command shares — one-line errors with fixed exit codes.
 *
 * Every MqttctlError (src/errors.ts: ConfigError, InputError, ControlError, BuildError, ...) exits
 * with its own code (2 bad input, 1 failure, 3 not running) and prints exactly one line,
 * `Error: <message>`, on stderr (or `{"error": {...}}` on stdout with --json), never a stack, even
 * under bin/dev.js. So do oclif's parse errors (unknown flag, bad value, missing argument): exit 2,
 * with the flags allowed. Commands throw these errors and map none of them themselves.
 */
import {Command} from '@oclif/core'
import {MqttctlError} from '../errors.js'
import {parseErrorLine} from './render.js'

/** oclif's parser errors (CLIParseError and subclasses) carry the parse input; flag validation fails with exit 2. */
function isParseError(err: unknown): err is Error {
  const e = err as {parse?: unknown; oclif?: {exit?: number}; name?: string}
  if (!(err instanceof Error) || (e.oclif?.exit ?? 2) !== 2) return false
  // A flag's own parse function failing (e.g. Flags.integer on "abc") is a plain Error oclif prefixes.
  return e.parse !== undefined || e.name === 'FailedFlagValidationError' || /^(Parsing --[\w-]+ \n|Flag --[\w-]+ (expects|can only)|Unexpected flag )/.test(err.message)
}

export abstract class BaseCommand extends Command {
  /** Prints one error line and exits with `code`. */
  protected fail(message: string, code: number): never {
    if (this.jsonEnabled()) this.logJson({error: {message, exitCode: code}})
    else process.stderr.write(`Error: ${message}\n`)
    return this.exit(code)
  }

  protected async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof MqttctlError) this.fail(err.message, err.exitCode)
    // oclif's own flag and argument errors (unknown flag, bad integer, missing argument): multi-line
    // with a stack under bin/dev.js otherwise.
    if (isParseError(err)) {
      const ctor = this.constructor as typeof Command
      const names = Object.entries(ctor.flags ?? {}).filter(([, f]) => !f.hidden).map(([k]) => k)
      this.fail(parseErrorLine(err, ctor.enableJsonFlag ? [...names, 'json'] : names), 2)
    }
    // this.exit() / fail(): already reported; let oclif exit with its code without printing again.
    if ((err as {code?: string}).code === 'EEXIT') throw err
    return super.catch(err)
  }
}
