import {describe, expect, it} from 'vitest'
import {MqttctlError} from '../src/errors.js'

// The base error every command maps to one line and an exit code (src/cli/base-command.ts).
describe('MqttctlError', () => {
  it('keeps its one-line message and exits 1 (operation failed) unless told otherwise', () => {
    const e = new MqttctlError('cannot read /etc/x: EACCES')
    expect(e).toBeInstanceOf(Error)
    expect(e.message).toBe('cannot read /etc/x: EACCES')
    expect(e.exitCode).toBe(1)
  })

  it('carries the exit code it is given (2 bad input, 3 not running)', () => {
    expect(new MqttctlError('bad', 2).exitCode).toBe(2)
    expect(new MqttctlError('not running', 3).exitCode).toBe(3)
  })

  it('subclasses stay MqttctlErrors with their own name and code', () => {
    class InputLike extends MqttctlError {
      constructor(message: string) {
        super(message, 2)
        this.name = 'InputLike'
      }
    }
    const e = new InputLike('--devices "x" is not a number')
    expect(e).toBeInstanceOf(MqttctlError)
    expect(e.exitCode).toBe(2)
    expect(String(e)).toBe('InputLike: --devices "x" is not a number')
  })
})
