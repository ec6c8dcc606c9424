/**
 * The broker figures of each tier of the deployment guide (§2.1, §4): the five settings a tier puts in
 * the broker configuration. A leaf module: the configuration's defaults (the small tier) and the
 * sizing model's tier table (src/sizing/tiers.ts) both read them from here, so the broker, which
 * imports src/config, never imports src/sizing.
 */
export const TIER_BROKER = {
  small: {maxConnections: 10_000, ioEntries: 256, clientPool: 1_024, forwardBatchSize: 100, logLevel: 'info'},
  medium: {maxConnections: 100_000, ioEntries: 1_024, clientPool: 10_000, forwardBatchSize: 1_000, logLevel: 'info'},
  large: {maxConnections: 1_000_000, ioEntries: 4_095, clientPool: 100_000, forwardBatchSize: 5_000, logLevel: 'warn'},
} as const

/**
 * limits.maxMemory per tier (docs/limits.md): half the tier's minimum RAM (small 4 GiB, medium 16 GiB,
 * large 64 GiB hosts), above the guide's observed broker memory (200-300 MB, 2-3 GB, 20-25 GB) with room
 * for the OS, page cache and a reconnect storm.
 */
export const TIER_MAX_MEMORY = {
  small: 2 * 1024 ** 3,
  medium: 8 * 1024 ** 3,
  large: 32 * 1024 ** 3,
} as const

/** The tier the default configuration is sized for. */
export const DEFAULT_TIER = 'small'
