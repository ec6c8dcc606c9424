import {describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../src/config/schema.js'
import {configForTier} from '../../src/config/tier.js'
import {TIER_BROKER, TIER_MAX_MEMORY} from '../../src/config/tier-figures.js'
import {validateConfig} from '../../src/config/validate.js'
import {TIERS} from '../../src/sizing/tiers.js'

describe('configForTier', () => {
  const before = structuredClone(DEFAULT_CONFIG)

  for (const tier of TIERS) {
    it(`${tier.name}: the tier's five broker figures and memory ceiling on top of the defaults, valid`, () => {
      const c = configForTier(tier)
      expect(c).toMatchObject(TIER_BROKER[tier.name])
      expect(c.limits.maxMemory).toBe(TIER_MAX_MEMORY[tier.name])
      // Everything else is the defaults.
      expect(c.listeners).toEqual(DEFAULT_CONFIG.listeners)
      expect({...c.limits, maxMemory: 0}).toEqual({...DEFAULT_CONFIG.limits, maxMemory: 0})
      expect(c.persistence).toEqual(DEFAULT_CONFIG.persistence)
      expect(() => validateConfig(c)).not.toThrow()
    })
  }

  it('returns a fresh copy: changing it (or asking for another tier) leaves DEFAULT_CONFIG alone', () => {
    const large = configForTier(TIERS.find((t) => t.name === 'large')!)
    large.listeners[0].port = 1
    large.limits.maxKeepAlive = 7
    expect(configForTier(TIERS.find((t) => t.name === 'small')!).limits.maxMemory).toBe(TIER_MAX_MEMORY.small)
    expect(DEFAULT_CONFIG).toEqual(before)
    expect(large.maxConnections).not.toBe(DEFAULT_CONFIG.maxConnections)
  })
})
