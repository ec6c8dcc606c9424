import {describe, expect, it} from 'vitest'
import {type BrokerConfig, DEFAULT_CONFIG, FIELDS, getPath, LOG_LEVELS, setPath} from '../../src/config/schema.js'
import {validateConfig} from '../../src/config/validate.js'

describe('getPath / setPath', () => {
  it('reads dotted keys, undefined through anything that is not an object', () => {
    const o = {a: {b: {c: 3}}, n: null, s: 'text'}
    expect(getPath(o, 'a.b.c')).toBe(3)
    expect(getPath(o, 'a.b')).toEqual({c: 3})
    expect(getPath(o, 'a.x.c')).toBeUndefined()
    expect(getPath(o, 'n.x')).toBeUndefined()
    expect(getPath(o, 's.length')).toBeUndefined()
    expect(getPath(null, 'a')).toBeUndefined()
    expect(getPath(42, 'a')).toBeUndefined()
  })

  it('writes dotted keys, replacing a non-object on the way instead of throwing', () => {
    const o: Record<string, unknown> = {limits: 5, metrics: null, keep: {x: 1}}
    setPath(o, 'limits.maxKeepAlive', 60)
    setPath(o, 'metrics.port', 0)
    setPath(o, 'keep.y', 2)
    setPath(o, 'fresh.deep.key', true)
    setPath(o, 'top', 'v')
    expect(o).toEqual({limits: {maxKeepAlive: 60}, metrics: {port: 0}, keep: {x: 1, y: 2}, fresh: {deep: {key: true}}, top: 'v'})
  })
})

describe('FIELDS and DEFAULT_CONFIG', () => {
  it('every field has a default that passes its own validation', () => {
    expect(() => validateConfig(structuredClone(DEFAULT_CONFIG))).not.toThrow()
    for (const f of FIELDS) {
      const v = getPath(DEFAULT_CONFIG, f.key)
      if (f.kind === 'optString' || f.kind === 'optBool') continue
      expect(v, f.key).not.toBeUndefined()
      if (f.kind === 'int') {
        expect(Number.isInteger(v), f.key).toBe(true)
        expect(v as number, f.key).toBeGreaterThanOrEqual(f.min!)
        expect(v as number, f.key).toBeLessThanOrEqual(f.max!)
      }
      if (f.kind === 'enum') expect(f.values, f.key).toContain(v)
    }
  })

  it('every default key is described by exactly one field (nothing undocumented, nothing twice)', () => {
    const keys = FIELDS.map((f) => f.key)
    expect(new Set(keys).size).toBe(keys.length)
    const leaves: string[] = []
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const key = prefix + k
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && keys.some((f) => f.startsWith(`${key}.`))) walk(v as Record<string, unknown>, `${key}.`)
        else leaves.push(key)
      }
    }
    walk(DEFAULT_CONFIG as unknown as Record<string, unknown>, '')
    for (const leaf of leaves) expect(keys, leaf).toContain(leaf)
  })

  it('environment variables are unique, MQTTCTL_-prefixed, and every int field has bounds with min <= max', () => {
    const envs = FIELDS.flatMap((f) => (f.env ? [f.env] : []))
    expect(new Set(envs).size).toBe(envs.length)
    for (const e of envs) expect(e).toMatch(/^MQTTCTL_[A-Z_]+$/)
    for (const f of FIELDS.filter((x) => x.kind === 'int')) {
      expect(f.min, f.key).toBeTypeOf('number')
      expect(f.max! >= f.min!, f.key).toBe(true)
      expect(Number.isSafeInteger(f.max), f.key).toBe(true)
    }
    for (const f of FIELDS) expect(f.help.length, f.key).toBeGreaterThan(5)
  })

  it('logLevel is one of LOG_LEVELS and its field offers exactly those', () => {
    const f = FIELDS.find((x) => x.key === 'logLevel')!
    expect(f.values).toEqual(LOG_LEVELS)
    expect(LOG_LEVELS).toContain((DEFAULT_CONFIG as BrokerConfig).logLevel)
  })
})
