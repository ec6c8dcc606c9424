/**
 * The one base class of mqttctl's expected errors: a one-line message with what to do, and the exit
 * code the command ends with (2: bad input, nothing done; 1: the operation failed; 3: not running).
 * BaseCommand.catch prints any of them as one line and exits with its code, so commands map none
 * of them themselves. No imports: the broker runtime's configuration errors extend it too.
 */
export class MqttctlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message)
  }
}
