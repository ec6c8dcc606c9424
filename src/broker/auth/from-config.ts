/**
 * The authorizer the broker runs with when BrokerOptions.authorizer is not given: AllowAll when the
 * configuration asks for nothing (no password file, no ACL, anonymous allowed), else a FileAuthorizer
 * over auth.* (which throws AuthFileError, one line with file and line, when a file is bad).
 */
import type {BrokerConfig} from '../../config/index.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import {AllowAll, type Authorizer} from './authorizer.js'
import {type AuthCounters, FileAuthorizer, type ReloadReport} from './file-authorizer.js'

export function authorizerFromConfig(config: BrokerConfig, deps: {clock: Clock; logger: Logger; counters: AuthCounters}): Authorizer {
  const auth = config.auth
  if (auth === undefined || (auth.passwordFile === undefined && auth.aclFile === undefined && auth.allowAnonymous !== false)) return new AllowAll()
  return new FileAuthorizer({...auth, ...deps})
}

/** An authorizer that can re-read its files (SIGHUP). */
export interface Reloadable {
  reload(): ReloadReport
  describe(): string
}

export function isReloadable(a: Authorizer): a is Authorizer & Reloadable {
  return typeof (a as Partial<Reloadable>).reload === 'function' && typeof (a as Partial<Reloadable>).describe === 'function'
}
