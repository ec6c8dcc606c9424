import {type Tier} from '../sizing/tiers.js'
import {type BrokerConfig, DEFAULT_CONFIG} from './schema.js'

/** The broker configuration for a tier: the guide's five figures on top of the defaults. */
export function configForTier(tier: Tier): BrokerConfig {
  const config = structuredClone(DEFAULT_CONFIG)
  Object.assign(config, tier.broker)
  return config
}
