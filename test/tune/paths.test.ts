import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packageRoot, templatesDir} from '../../src/tune/paths.js'

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')

describe('packageRoot', () => {
  it('finds the package from src/ and from the compiled dist/src/ layout', () => {
    expect(packageRoot()).toBe(ROOT)
    expect(packageRoot(`file://${ROOT}/dist/src/tune/paths.js`)).toBe(ROOT)
    expect(existsSync(join(templatesDir(), 'linux/apply.sh.tpl'))).toBe(true)
  })

  it('fails clearly outside the package', () => {
    expect(() => packageRoot('file:///tmp/nowhere/x.js')).toThrow(/cannot find mqttctl's package.json/)
  })
})
