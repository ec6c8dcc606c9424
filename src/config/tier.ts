import {type Tier} from '../sizing/tiers.js'
import {type BrokerConfig, DEFAULT_CONFIG} from './schema.js'
import {TIER_MAX_MEMORY} from './tier-figures.js'

/** The broker configuration for a tier: the guide's five figures on top of the defaults. */
export function configForTier(tier: Tier): BrokerConfig {
  const config = structuredClone(DEFAULT_CONFIG)
  Object.assign(config, tier.broker)
  config.limits.maxMemory = TIER_MAX_MEMORY[tier.name]
  return config
}
