import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ourBrokerEntry} from '../src/bench/brokers.js'
import {ownRuntime} from '../src/control/runtime.js'
import {packageRoot, packageVersion} from '../src/paths.js'

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '')

describe('packageRoot and packageVersion', () => {
  it('the version is package.json\'s, from the package root or a given root', () => {
    const {version} = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}
    expect(packageRoot()).toBe(ROOT)
    expect(packageVersion()).toBe(version)
    expect(packageVersion(ROOT)).toBe(version)
  })

  it('without a package.json: MQTTCTL_VERSION, else "unknown"', () => {
    const saved = process.env.MQTTCTL_VERSION
    try {
      delete process.env.MQTTCTL_VERSION
      expect(packageVersion('/nonexistent')).toBe('unknown')
      process.env.MQTTCTL_VERSION = '9.9.9'
      expect(packageVersion('/nonexistent')).toBe('9.9.9')
    } finally {
      if (saved === undefined) delete process.env.MQTTCTL_VERSION
      else process.env.MQTTCTL_VERSION = saved
    }
  })
})

describe('bench runs the broker start runs', () => {
  it('from sources: src/broker/main.ts through an absolute tsx URL, not a stale dist/ build', () => {
    const own = ownRuntime()
    expect(ourBrokerEntry()).toEqual({cmd: own.command, args: own.args})
    expect(own.args.at(-1)).toBe(join(ROOT, 'src', 'broker', 'main.ts'))
    expect(own.args[own.args.indexOf('--import') + 1]).toMatch(/^file:\/\//)
  })
})
