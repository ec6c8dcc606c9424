import {describe, expect, it} from 'vitest'
import {MAX_PACKET_SIZE} from '../../src/broker/protocol/versions.js'
import {TIER_BROKER} from '../../src/config/tier-figures.js'
import {TIERS, tierForConnections} from '../../src/sizing/tiers.js'
import {WORKLOAD_SPECS} from '../../src/sizing/workload.js'

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

describe('the tier table', () => {
  it('chooses a tier only below its MAX_CONNECTIONS, and the device ranges meet without gaps', () => {
    expect(TIERS[0].minDevices).toBe(1)
    TIERS.forEach((tier, i) => {
      expect(tier.maxDevices, tier.name).toBe(tier.broker.maxConnections - 1)
      if (i > 0) expect(tier.minDevices, tier.name).toBe(TIERS[i - 1].maxDevices + 1)
    })
  })

  it('each tier is its own copy of the configuration figures (changing one cannot change the broker defaults)', () => {
    for (const tier of TIERS) expect(tier.broker).not.toBe(TIER_BROKER[tier.name])
  })

  it('--payload is bounded by the broker\'s own largest packet', () => {
    expect(WORKLOAD_SPECS.payload.max).toBe(MAX_PACKET_SIZE)
  })
})
