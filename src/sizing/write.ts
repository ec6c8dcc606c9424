/**
 * `plan --write FILE`: the broker configuration for a tier, in the one schema `start` and `build`
 * read (src/config), written atomically and never over an existing file unless forced.
 */
import {linkSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {type BrokerConfig, configForTier, validateConfig} from '../config/index.js'
import {MqttctlError} from '../errors.js'
import type {Tier} from './tiers.js'

/** The file exists and --force was not given, or it could not be written; `message` is one line. */
export class WriteError extends MqttctlError {
  constructor(
    readonly path: string,
    message: string,
    /** True when the file exists and --force would overwrite it (exit 2); else the write failed (exit 1). */
    readonly exists = false,
  ) {
    super(message, exists ? 2 : 1)
    this.name = 'WriteError'
  }
}

/** The runtime memory settings a plan writes (runtime.ts: heap limit from the estimate, semi-space). */
export interface RuntimeSettings {
  maxOldSpaceMb: number
  maxSemiSpaceMb: number
}

/** `workers`: broker processes on the node (cluster.workers, start --workers), when the plan needs more than one. */
export function tierConfigText(tier: Tier, runtime?: RuntimeSettings, workers?: number): {config: BrokerConfig; text: string} {
  const base = configForTier(tier)
  if (runtime) base.runtime = {maxOldSpaceMb: runtime.maxOldSpaceMb, maxSemiSpaceMb: runtime.maxSemiSpaceMb}
  if (workers !== undefined && workers > 1) base.cluster = {...base.cluster, workers}
  const config = validateConfig(base)
  return {config, text: JSON.stringify(config, null, 2) + '\n'}
}

/**
 * Writes a temp file next to `path`, then links it into place (fails if `path` exists: no window in
 * which another writer's file is clobbered) or, with force, renames over it.
 */
export function writeTierConfig(path: string, tier: Tier, force = false, runtime?: RuntimeSettings, workers?: number): BrokerConfig {
  const {config, text} = tierConfigText(tier, runtime, workers)
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  try {
    writeFileSync(tmp, text, {flag: 'wx'})
  } catch (error) {
    throw new WriteError(path, `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  try {
    if (force) renameSync(tmp, path)
    else {
      linkSync(tmp, path)
      unlinkSync(tmp)
    }
  } catch (error) {
    try {
      unlinkSync(tmp)
    } catch {}
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new WriteError(path, `${path} already exists; pass --force to overwrite it`, true)
    throw new WriteError(path, `cannot write ${path}: ${code ?? (error as Error).message}`)
  }
  return config
}
