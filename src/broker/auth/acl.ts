/**
 * Mosquitto's ACL file, read as is:
 *
 *   # comment
 *   topic [read|write|readwrite|deny] FILTER      rules before the first `user` line: anonymous clients
 *   user NAME                                      the topic lines that follow are NAME's
 *   pattern [read|write|readwrite|deny] FILTER    every client, %u = user name, %c = client id
 *
 * The access word is optional (readwrite). FILTER is the rest of the line, spaces included.
 * Evaluation (once an ACL file is configured, everything not granted is denied):
 *   - a client's rules are its user's (or the anonymous ones) plus every pattern;
 *   - `deny` wins over any grant, wherever it is written;
 *   - publish/read of a topic: some rule with that access matches it and no deny rule does;
 *   - subscribe to a filter: every topic the filter can match is readable (coverage over the union of
 *     read rules), and no deny rule shares a topic with it (overlap);
 *   - a pattern whose %u or %c would hold '/', '+' or '#' does not apply (a client id "alice/x" must
 *     not reach into "devices/alice/#"), nor a %u pattern for an anonymous client.
 */
import {validateTopicFilter} from '../protocol/topics.js'
import {AuthFileError, CONTROL, readAuthLines} from './files.js'
import {covered, type Levels, matchLevels, overlaps, splitLevels} from './topic-sets.js'

export const READ = 1
export const WRITE = 2
/** Deny: no access, and it overrides grants. */
export const DENY = 0

export interface AclRule {
  access: number
  filter: string
  /** Line in the file (for messages). */
  line: number
}

export interface AclTable {
  anonymous: AclRule[]
  users: Map<string, AclRule[]>
  patterns: AclRule[]
}

/** Most rules one ACL file may hold. */
export const MAX_ACL_RULES = 1_000_000

const ACCESS: Record<string, number> = {read: READ, write: WRITE, readwrite: READ | WRITE, deny: DENY}

export function parseAclLines(lines: readonly string[], setting: string, path: string): AclTable {
  const table: AclTable = {anonymous: [], users: new Map(), patterns: []}
  let current: AclRule[] = table.anonymous
  let count = 0
  lines.forEach((raw, i) => {
    const line = raw.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '')
    if (line === '' || line.startsWith('#')) return
    const fail = (reason: string) => new AuthFileError(setting, path, i + 1, reason)
    const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line)!
    const keyword = m[1]
    const rest = m[2] ?? ''
    if (keyword === 'user') {
      if (rest === '') throw fail('"user" needs a user name')
      if (CONTROL.test(rest)) throw fail('a user name cannot contain control characters')
      current = table.users.get(rest) ?? []
      table.users.set(rest, current)
      return
    }
    if (keyword !== 'topic' && keyword !== 'pattern') throw fail(`unknown keyword ${JSON.stringify(keyword)}: expected topic, pattern or user`)
    const a = /^(read|write|readwrite|deny)(?:[ \t]+(.*))?$/.exec(rest)
    const access = a ? ACCESS[a[1]] : READ | WRITE
    const filter = a ? (a[2] ?? '') : rest
    if (filter === '') throw fail(`"${keyword}" needs a topic filter`)
    const bad = validateTopicFilter(keyword === 'pattern' ? filter.replace(/%[uc]/g, 'x') : filter)
    if (bad) throw fail(`${JSON.stringify(filter)}: ${bad}`)
    if (filter.startsWith('$share/')) throw fail(`${JSON.stringify(filter)}: write the filter without $share/<group>/ (shared subscriptions are checked by their filter)`)
    if (++count > MAX_ACL_RULES) throw fail(`more than ${MAX_ACL_RULES} rules`)
    const rule = {access, filter, line: i + 1}
    if (keyword === 'pattern') table.patterns.push(rule)
    else current.push(rule)
  })
  return table
}

export function loadAclFile(path: string, setting = 'auth.aclFile'): AclTable {
  return parseAclLines(readAuthLines(setting, path), setting, path)
}

/** One client's rules, split by kind, filters pre-split into levels. */
export class ClientAcl {
  readonly read: Levels[] = []
  readonly write: Levels[] = []
  readonly deny: Levels[] = []
  /** topic -> READ/WRITE bits allowed; bounded (CLIENT_CACHE_*), cleared when full. */
  #cache = new Map<string, number>()

  constructor(table: AclTable, username: string | undefined, clientId: string) {
    const own = username === undefined ? table.anonymous : (table.users.get(username) ?? [])
    for (const r of own) this.#add(r.access, r.filter)
    const unsafe = (v: string) => v.includes('/') || v.includes('+') || v.includes('#')
    for (const r of table.patterns) {
      if (r.filter.includes('%u') && (username === undefined || unsafe(username))) continue
      if (r.filter.includes('%c') && unsafe(clientId)) continue
      this.#add(r.access, r.filter.replace(/%[uc]/g, (v) => (v === '%u' ? username! : clientId)))
    }
  }

  #add(access: number, filter: string): void {
    const levels = splitLevels(filter)
    if (access === DENY) this.deny.push(levels)
    if (access & READ) this.read.push(levels)
    if (access & WRITE) this.write.push(levels)
  }

  /** Bits of READ/WRITE allowed on a topic name. */
  access(topic: string): number {
    let bits = this.#cache.get(topic)
    if (bits !== undefined) return bits
    const t = splitLevels(topic)
    bits = 0
    if (!this.deny.some((d) => matchLevels(d, t))) {
      if (this.read.some((r) => matchLevels(r, t))) bits |= READ
      if (this.write.some((w) => matchLevels(w, t))) bits |= WRITE
    }
    if (topic.length <= CLIENT_CACHE_TOPIC_LENGTH) {
      if (this.#cache.size >= CLIENT_CACHE_ENTRIES) this.#cache.clear()
      this.#cache.set(topic, bits)
    }
    return bits
  }

  /** Every topic of `filter` readable, none denied. `$share/<group>/` is checked by its filter. */
  canSubscribe(filter: string): boolean {
    const f = splitLevels(stripShare(filter))
    if (this.deny.some((d) => overlaps(d, f))) return false
    return covered(f, this.read)
  }
}

/**
 * Topics remembered per client with their access bits: at most 64 topics of at most 256 characters
 * (about 16 KB a client at worst), so a client publishing to long random topics cannot grow it.
 */
export const CLIENT_CACHE_ENTRIES = 64
export const CLIENT_CACHE_TOPIC_LENGTH = 256

export function stripShare(filter: string): string {
  if (!filter.startsWith('$share/')) return filter
  const slash = filter.indexOf('/', 7)
  return slash < 0 ? filter : filter.slice(slash + 1)
}
