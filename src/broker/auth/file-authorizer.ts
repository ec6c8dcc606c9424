/**
 * The Authorizer behind `auth.passwordFile` and `auth.aclFile` (Mosquitto's formats): password
 * checks with a credential cache, failed-login slowing per source address, ACL decisions, session
 * take-over by the same user only, and reload (SIGHUP) that keeps the previous file when a new one
 * is bad. Files are read at construction: a bad file throws AuthFileError (one line, file and line).
 */
import type {Clock} from '../clock.js'
import {systemClock} from '../clock.js'
import {type Logger, silentLogger} from '../log.js'
import {type AclTable, ClientAcl, loadAclFile, READ, WRITE} from './acl.js'
import type {AuthOutcome, Authorizer, ConnectCredentials, Identity} from './authorizer.js'
import {CredentialCache, DEFAULT_CREDENTIAL_CACHE} from './credential-cache.js'
import {AuthFileError} from './files.js'
import {loadPasswordFile, type PasswordEntry} from './password-file.js'
import {dummyVerify, verifyPassword} from './password-hash.js'
import {hostOf, Slowdown, type SlowdownOptions} from './slowdown.js'

export type TakeOverPolicy = 'same-user' | 'any'

export interface AuthSettings {
  passwordFile?: string
  aclFile?: string
  /** Default: true without a password file, false with one. */
  allowAnonymous?: boolean
  /** With a password file: who may take over a connected client id (default same-user). */
  takeOver?: TakeOverPolicy
  /** Verified logins remembered (0 = none); default DEFAULT_CREDENTIAL_CACHE. */
  credentialCache?: number
}

/** Counters the authorizer keeps (BrokerStats has these fields; the broker itself counts refused CONNECTs as authFailures). */
export interface AuthCounters {
  /** Login attempts held back by failed-login slowing (or refused as busy). */
  loginsDelayed: number
  /** SUBSCRIBE filters the ACL refused. */
  subscribeDenied: number
  /** Take-overs of a client id by another user, refused. */
  takeOversRefused: number
}

export interface FileAuthorizerOptions extends AuthSettings {
  clock?: Clock
  logger?: Logger
  counters?: AuthCounters
  slowdown?: Partial<SlowdownOptions>
  /** Password checks running at once (libuv's pool has 4 threads by default). */
  maxVerifying?: number
  /** Password checks waiting for a thread; beyond, CONNACK 0x89 server busy. */
  maxQueued?: number
}

const RC_BAD_CREDENTIALS = 0x86
const RC_NOT_AUTHORIZED = 0x87
const RC_SERVER_BUSY = 0x89
/** Failed-login log lines per second; the rest are counted in one summary line. */
const LOG_LINES_PER_SECOND = 20

export interface ReloadReport {
  ok: boolean
  /** One line per file: reloaded with what, or kept and why. */
  lines: string[]
}

/** Iterations of the file's first $7$ user: what an unknown user's dummy check costs (0 for a $6$ file). */
const typicalCache = new WeakMap<ReadonlyMap<string, PasswordEntry>, number>()
function typicalIterations(users: ReadonlyMap<string, PasswordEntry>): number {
  let n = typicalCache.get(users)
  if (n === undefined) {
    n = 0
    for (const e of users.values()) {
      if (e.hash.kind === 7) {
        n = e.hash.iterations
        break
      }
    }
    typicalCache.set(users, n)
  }
  return n
}

export class FileAuthorizer implements Authorizer {
  readonly checksAccess: boolean
  readonly settings: Readonly<AuthSettings>
  readonly allowAnonymous: boolean
  readonly counters: AuthCounters
  readonly #clock: Clock
  readonly #log: Logger
  readonly #cache: CredentialCache
  readonly #slowdown: Slowdown
  #users: ReadonlyMap<string, PasswordEntry> | undefined
  #acl: AclTable | undefined
  /** Bumped when the ACL changes: per-client rule sets built before are rebuilt. */
  #gen = 0
  readonly #clientAcls = new WeakMap<Identity, {gen: number; acl: ClientAcl}>()
  #verifying = 0
  /** Checks running, by login (HMAC key and stored hash). */
  readonly #pending = new Map<string, Promise<boolean | 'busy'>>()
  readonly #queue: Array<() => void> = []
  readonly #maxVerifying: number
  readonly #maxQueued: number
  /** Logins this authorizer refused (bad credentials, anonymous). */
  failedLogins = 0
  /** Password hashes computed (cache misses; concurrent checks of one login count once). */
  hashesComputed = 0
  #logWindow = 0
  #logCount = 0
  #logSuppressed = 0

  constructor(options: FileAuthorizerOptions) {
    this.settings = {passwordFile: options.passwordFile, aclFile: options.aclFile, takeOver: options.takeOver ?? 'same-user', credentialCache: options.credentialCache}
    this.allowAnonymous = options.allowAnonymous ?? options.passwordFile === undefined
    this.checksAccess = options.aclFile !== undefined
    this.#clock = options.clock ?? systemClock
    this.#log = options.logger ?? silentLogger
    this.counters = options.counters ?? {loginsDelayed: 0, subscribeDenied: 0, takeOversRefused: 0}
    this.#cache = new CredentialCache(options.credentialCache ?? DEFAULT_CREDENTIAL_CACHE)
    this.#slowdown = new Slowdown(this.#clock, options.slowdown)
    this.#maxVerifying = options.maxVerifying ?? 4
    this.#maxQueued = options.maxQueued ?? 1_000
    if (options.passwordFile !== undefined) this.#users = loadPasswordFile(options.passwordFile)
    if (options.aclFile !== undefined) this.#acl = loadAclFile(options.aclFile)
  }

  /** For the start-up log and doctor: what is on. */
  describe(): string {
    const parts = [
      this.#users ? `password file ${this.settings.passwordFile} (${this.#users.size} users)` : 'no password file',
      this.allowAnonymous ? 'anonymous clients allowed' : 'anonymous clients refused',
      this.#acl ? `ACL file ${this.settings.aclFile} (${this.ruleCount()} rules)` : 'no ACL (every client may publish and subscribe to anything)',
    ]
    return parts.join(', ')
  }

  get userCount(): number {
    return this.#users?.size ?? 0
  }

  ruleCount(): number {
    if (!this.#acl) return 0
    let n = this.#acl.anonymous.length + this.#acl.patterns.length
    for (const rules of this.#acl.users.values()) n += rules.length
    return n
  }

  /** Failed logins remembered for an address (tests, diagnostics). */
  failuresFrom(address: string): number {
    return this.#slowdown.failures(address)
  }

  get cachedLogins(): number {
    return this.#cache.size
  }

  authenticate(c: ConnectCredentials): AuthOutcome | Promise<AuthOutcome> {
    if (c.username === undefined) {
      if (this.allowAnonymous) return {ok: true, identity: {clientId: c.clientId}}
      return this.#refuse(c, RC_NOT_AUTHORIZED, 'anonymous clients are not allowed')
    }
    const users = this.#users
    if (users === undefined) return {ok: true, identity: {clientId: c.clientId, username: c.username}}
    return this.#check(c, users)
  }

  async #check(c: ConnectCredentials, users: ReadonlyMap<string, PasswordEntry>): Promise<AuthOutcome> {
    const host = hostOf(c.remoteAddress)
    const admission = this.#slowdown.admit(host)
    if (admission === 'busy') {
      this.counters.loginsDelayed++
      return {ok: false, reasonCode: RC_SERVER_BUSY}
    }
    try {
      if (admission.wait > 0) {
        this.counters.loginsDelayed++
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, admission.wait))
      }
      const username = c.username!
      const password = c.password ?? Buffer.alloc(0)
      // Re-read: a reload may have happened while we waited.
      const entry = (this.#users ?? users).get(username)
      if (entry !== undefined && this.#cache.has(username, password, entry.text)) return {ok: true, identity: {clientId: c.clientId, username}}
      const good = entry === undefined ? await this.#withThread(() => dummyVerify(typicalIterations(this.#users ?? users)).then(() => false)) : await this.#verifyOnce(username, password, entry)
      if (good === 'busy') return {ok: false, reasonCode: RC_SERVER_BUSY}
      if (good) {
        this.#cache.add(username, password, entry!.text)
        return {ok: true, identity: {clientId: c.clientId, username}}
      }
      const n = this.#slowdown.failed(host)
      return this.#refuse(c, RC_BAD_CREDENTIALS, `${entry === undefined ? 'unknown user' : 'wrong password'}; failure ${n} from ${host}, next attempt from there waits ${this.#slowdown.delayFor(n)} ms`)
    } finally {
      if ('release' in admission) admission.release()
    }
  }

  /**
   * One hash per distinct login at a time: a fleet sharing credentials that reconnects at once waits
   * for the first check instead of hashing once per connection.
   */
  #verifyOnce(username: string, password: Buffer, entry: PasswordEntry): Promise<boolean | 'busy'> {
    const key = `${this.#cache.keyOf(username, password)}|${entry.text}`
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = this.#withThread(() => {
        this.hashesComputed++
        return verifyPassword(entry.hash, password)
      }).finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    return pending
  }

  /** Runs a password check when a thread is free; 'busy' when too many wait. */
  async #withThread<T>(fn: () => Promise<T>): Promise<T | 'busy'> {
    if (this.#verifying >= this.#maxVerifying) {
      if (this.#queue.length >= this.#maxQueued) return 'busy'
      await new Promise<void>((resolve) => this.#queue.push(resolve))
    } else this.#verifying++
    try {
      return await fn()
    } finally {
      const next = this.#queue.shift()
      if (next) next()
      else this.#verifying--
    }
  }

  #refuse(c: ConnectCredentials, reasonCode: number, why: string): AuthOutcome {
    this.failedLogins++
    const now = this.#clock.now()
    const window = Math.floor(now / 1000)
    if (window !== this.#logWindow) {
      if (this.#logSuppressed > 0) this.#log.warn(`Failed login: ${this.#logSuppressed} more in the last second not logged`)
      this.#logWindow = window
      this.#logCount = 0
      this.#logSuppressed = 0
    }
    if (++this.#logCount > LOG_LINES_PER_SECOND) this.#logSuppressed++
    else {
      // Never the password; names are quoted so control characters cannot forge a log line.
      const user = c.username === undefined ? 'no user name' : `user ${JSON.stringify(c.username)}`
      this.#log.warn(`Failed login from ${c.remoteAddress}: client id ${JSON.stringify(c.clientId)}, ${user}: ${why}`)
    }
    return {ok: false, reasonCode}
  }

  #aclOf(id: Identity): ClientAcl {
    const known = this.#clientAcls.get(id)
    if (known !== undefined && known.gen === this.#gen) return known.acl
    const acl = new ClientAcl(this.#acl!, id.username, id.clientId)
    this.#clientAcls.set(id, {gen: this.#gen, acl})
    return acl
  }

  canPublish(id: Identity, topic: string): boolean {
    if (!this.#acl) return true
    return (this.#aclOf(id).access(topic) & WRITE) !== 0
  }

  canRead(id: Identity, topic: string): boolean {
    if (!this.#acl) return true
    return (this.#aclOf(id).access(topic) & READ) !== 0
  }

  canSubscribe(id: Identity, filter: string): boolean {
    if (!this.#acl) return true
    const ok = this.#aclOf(id).canSubscribe(filter)
    if (!ok) this.counters.subscribeDenied++
    return ok
  }

  canTakeOver(next: Identity, current: Identity): boolean {
    if (this.settings.takeOver === 'any' || this.#users === undefined) return true
    if (next.username === current.username) return true
    this.counters.takeOversRefused++
    this.#log.warn(`Refused take-over of client id ${JSON.stringify(current.clientId)}: it is connected as ${current.username === undefined ? 'an anonymous client' : `user ${JSON.stringify(current.username)}`}, the new connection is ${next.username === undefined ? 'anonymous' : `user ${JSON.stringify(next.username)}`}`)
    return false
  }

  /** Re-reads both files; a file that cannot be used is kept as it was, and the report says why. */
  reload(): ReloadReport {
    const lines: string[] = []
    let ok = true
    const {passwordFile, aclFile} = this.settings
    if (passwordFile !== undefined) {
      try {
        this.#users = loadPasswordFile(passwordFile)
        lines.push(`password file ${passwordFile} reloaded: ${this.#users.size} users`)
      } catch (error) {
        ok = false
        lines.push(`kept the previous password file (${this.#users?.size ?? 0} users): ${error instanceof AuthFileError ? error.message : String(error)}`)
      }
    }
    if (aclFile !== undefined) {
      try {
        this.#acl = loadAclFile(aclFile)
        this.#gen++
        lines.push(`ACL file ${aclFile} reloaded: ${this.ruleCount()} rules`)
      } catch (error) {
        ok = false
        lines.push(`kept the previous ACL file (${this.ruleCount()} rules): ${error instanceof AuthFileError ? error.message : String(error)}`)
      }
    }
    return {ok, lines}
  }
}
