import {MqttctlError} from '../errors.js'

/** A build that cannot be done: one line naming the value and what is allowed, and the exit code. */
export class BuildError extends MqttctlError {
  constructor(
    message: string,
    /** 2: bad input, nothing written; 1: the build failed, nothing written. */
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message, exitCode)
    this.name = 'BuildError'
  }
}
