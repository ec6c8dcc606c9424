import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../src/config/index.js'
import {ControlError, describeDataDirError, describeListenError, exitCodeOf} from '../../src/broker/process/errors.js'

const errno = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), {code, ...extra})

describe('describeListenError', () => {
  it.each([
    [errno('EADDRINUSE', {address: '0.0.0.0', port: 1883}), 'port 1883 is already in use on 0.0.0.0; stop the other broker or choose --port'],
    [
      errno('EACCES', {address: '0.0.0.0', port: 80}),
      'permission denied to listen on 0.0.0.0:80: ports below 1024 need privileges; choose --port 1024 or higher (e.g. 1883), or grant CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE)',
    ],
    [errno('EACCES', {address: '::', port: 5000}), 'permission denied to listen on [::]:5000; choose another --port or --host'],
    [errno('EADDRNOTAVAIL', {address: '10.9.9.9', port: 1883}), 'address 10.9.9.9 is not an address of this machine; choose --host 0.0.0.0 (every interface) or one of this machine\'s addresses'],
    [errno('ENOTFOUND', {hostname: 'nohost'}), 'host "nohost" cannot be resolved; choose --host with an IP address such as 0.0.0.0 or 127.0.0.1'],
    [new Error('boom'), 'cannot start the broker: boom'],
  ])('%s', (error, message) => {
    expect(describeListenError(error, {host: '0.0.0.0', port: 1883})).toBe(message)
  })

  it('falls back to the configured listener when the error has no address', () => {
    expect(describeListenError(errno('EADDRINUSE'), {host: '127.0.0.1', port: 2000})).toBe('port 2000 is already in use on 127.0.0.1; stop the other broker or choose --port')
  })
})

describe('describeDataDirError', () => {
  it.each([
    ['EACCES', 'permission denied'],
    ['EROFS', 'read-only file system'],
    ['ENOTDIR', 'a file is in the way'],
    ['ENOSPC', 'no space left on device'],
  ])('%s', (code, why) => {
    expect(describeDataDirError('/d', errno(code))).toBe(`data directory /d is not writable (${why}); choose another --data-dir or make it writable by this user (chown/chmod)`)
  })
})

describe('exitCodeOf', () => {
  it('config 2, control its own, else 1', () => {
    expect(exitCodeOf(new ConfigError('k', 'm'))).toBe(2)
    expect(exitCodeOf(new ControlError('m', 3))).toBe(3)
    expect(exitCodeOf(new Error('m'))).toBe(1)
  })
})
