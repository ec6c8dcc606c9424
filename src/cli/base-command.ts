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

interface FlagRelations {
  exclusive?: string[]
  dependsOn?: string[]
}

/**
 * The line for oclif's flag-relation failure (FailedFlagValidationError: `exclusive`, `dependsOn`),
 * in our words, from the command's own relation declarations and the flags given: "--a, --b and --c
 * are not allowed together; give one of them", "--yes is only allowed with --apply". undefined when
 * the failure is not one of these.
 */
export function relationErrorLine(flags: Record<string, FlagRelations>, given: readonly string[]): string | undefined {
  const list = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`)
  const dashed = (names: string[]) => names.map((n) => `--${n}`)
  for (const name of given) {
    const {exclusive = [], dependsOn = []} = flags[name] ?? {}
    if (exclusive.some((other) => given.includes(other))) {
      const group = Object.keys(flags).filter((f) => f === name || exclusive.includes(f))
      return `${list(dashed(group))} are not allowed together; give one of them`
    }
    const missing = dependsOn.filter((other) => !given.includes(other))
    if (missing.length > 0) return `--${name} is only allowed with ${list(dashed(missing))}`
  }
  return undefined
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
    const ctor = this.constructor as typeof Command
    // oclif's flag relations (exclusive, dependsOn): one line in the same words as every other refusal.
    const parsed = (err as {parse?: {output?: {flags?: Record<string, unknown>; metadata?: {flags?: Record<string, {setFromDefault?: boolean}>}}}}).parse?.output
    if (/^The following errors? occurred:/.test(err.message) && parsed?.flags) {
      const given = Object.keys(parsed.flags).filter((f) => parsed.flags![f] !== undefined && !parsed.metadata?.flags?.[f]?.setFromDefault)
      const line = relationErrorLine((ctor.flags ?? {}) as Record<string, FlagRelations>, given)
      if (line) this.fail(line, 2)
    }
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
