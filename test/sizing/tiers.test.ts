import {describe, expect, it} from 'vitest'
import {TIERS, tierForConnections} from '../../src/sizing/tiers.js'

describe('tierForConnections', () => {
  it('the smallest tier whose MAX_CONNECTIONS covers the limit, else the largest', () => {
    for (const tier of TIERS) {
      expect(tierForConnections(tier.broker.maxConnections).name).toBe(tier.name)
    }
    expect(tierForConnections(1).name).toBe(TIERS[0].name)
    expect(tierForConnections(TIERS[0].broker.maxConnections + 1).name).toBe(TIERS[1].name)
    expect(tierForConnections(TIERS[TIERS.length - 1].broker.maxConnections * 10).name).toBe(TIERS[TIERS.length - 1].name)
  })
})
