export {type BrokerConfig, type BrokerLimits, type ListenerConfig, type LogLevel, type MetricsConfig, type TlsConfig, DEFAULT_CONFIG, FIELDS, LOG_LEVELS} from './schema.js'
export {ConfigError, validateConfig} from './validate.js'
export {type LoadedConfig, type LoadOptions, type Source, loadConfig, readConfigFile} from './load.js'
export {configForTier} from './tier.js'
