import {describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {DEFAULT_TIER, TIER_BROKER} from '../../src/config/tier-figures.js'
import {TIERS} from '../../src/sizing/tiers.js'

describe('the tier figures the configuration reads', () => {
  it('are the sizing model\'s tier table, tier by tier (one set of figures)', () => {
    expect(Object.fromEntries(TIERS.map((t) => [t.name, t.broker]))).toEqual(TIER_BROKER)
  })

  it('the default configuration is the small tier\'s, in the order plan --write writes them', () => {
    expect(DEFAULT_TIER).toBe('small')
    const {maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel} = DEFAULT_CONFIG
    expect({maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel}).toEqual(TIER_BROKER.small)
    expect(Object.keys(DEFAULT_CONFIG).slice(0, 6)).toEqual(['listeners', 'maxConnections', 'ioEntries', 'clientPool', 'forwardBatchSize', 'logLevel'])
  })
})
