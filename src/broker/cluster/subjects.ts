/**
 * MQTT topic names and filters <-> NATS subjects, reversibly.
 *
 *   topic "a/b"        -> "<prefix>.t.a.b"          (one NATS token per MQTT level)
 *   topic "$SYS/x"     -> "<prefix>.s.$SYS.x"       ('$' topics under another root, so the NATS
 *                                                    subjects of '+' and '#' filters never match them
 *                                                    [MQTT-4.7.2-1])
 *   topic "a//b"       -> "<prefix>.t.a.~.b"        (an empty level is the placeholder "~")
 *   topic "a.b/c d"    -> "<prefix>.t.a~2Eb.c~20d"  (".", "*", ">", "~", space, control characters and
 *                                                    DEL as "~" + two hex digits; nothing else changes,
 *                                                    UTF-8 included)
 *   filter "a/+/c"     -> ["<prefix>.t.a.*.c"]
 *   filter "a/#"       -> ["<prefix>.t.a.>", "<prefix>.t.a"]   ('#' also matches its parent level)
 *   filter "#"         -> ["<prefix>.t.>"]
 *   "$share/g/a/#"     -> the subjects of "a/#", NATS queue group queueName("g", "a/#")
 *
 * The encoding is a bijection: decoding accepts only what encoding produces (a "~41" for "A" is
 * refused), so one topic has exactly one subject. nats-server 2.9 closes a connection whose control
 * line passes 4 KB, so a subject longer than maxSubjectBytes is not mapped (undefined / []): the
 * caller keeps such a message on the local node and says so.
 */
import {nodeCrypto} from '../lazy-builtins.js'
import {parseShared, validateTopicName} from '../protocol/topics.js'

/** Longest subject mapped by default, bytes: below nats-server's 4096-byte control line with room for the rest of HPUB. */
export const DEFAULT_MAX_SUBJECT_BYTES = 3_584
/** Subject prefix: NATS tokens of letters, digits, '-' and '_', separated by '.'. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,32}(\.[A-Za-z0-9_-]{1,32}){0,3}$/

const ESC = 0x7e // '~'
const EMPTY_LEVEL = '~'
/** Characters that are escaped: whitespace and control characters, DEL, '.', '*', '>', '~'. */
const NEEDS_ESCAPE = /[\x00-\x20\x7f.*>~]/
const HEX = '0123456789ABCDEF'

function mustEscape(c: number): boolean {
  return c <= 0x20 || c === 0x7f || c === 0x2e || c === 0x2a || c === 0x3e || c === ESC
}

/** One MQTT level as one NATS token. */
export function escapeLevel(level: string): string {
  if (level.length === 0) return EMPTY_LEVEL
  if (!NEEDS_ESCAPE.test(level)) return level
  let out = ''
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i)
    out += mustEscape(c) ? `~${HEX[c >> 4]}${HEX[c & 15]}` : level[i]
  }
  return out
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** The MQTT level of one token, or undefined when the token is not one escapeLevel() produces. */
export function unescapeLevel(token: string): string | undefined {
  if (token === EMPTY_LEVEL) return ''
  if (token.length === 0 || token === '*' || token === '>') return undefined
  if (token.indexOf('~') === -1) return NEEDS_ESCAPE.test(token) ? undefined : token
  let out = ''
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c !== ESC) {
      if (mustEscape(c)) return undefined
      out += token[i]
      continue
    }
    if (i + 2 >= token.length) return undefined
    const hi = hexValue(token.charCodeAt(i + 1))
    const lo = hexValue(token.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) return undefined
    const decoded = hi * 16 + lo
    if (!mustEscape(decoded)) return undefined // not canonical: one topic, one subject
    out += String.fromCharCode(decoded)
    i += 2
  }
  return out
}

/** NATS queue group of a shared subscription: one group per (share name, filter), as MQTT 5 §4.8.2 has it. */
export function queueName(group: string, filter: string): string {
  const h = nodeCrypto().createHash('sha256').update(group).update('\0').update(filter).digest('base64url').slice(0, 22)
  return `mqs_${h}`
}

export interface SubjectMapOptions {
  /** First token(s) of every subject (default "mqtt"): two clusters can share one NATS. */
  prefix?: string
  maxSubjectBytes?: number
}

/** A filter's NATS subscriptions; `queue` set for a shared subscription. */
export interface FilterSubjects {
  subjects: string[]
  queue?: string
  /** The filter without "$share/<group>/". */
  filter: string
}

const CACHE_MAX = 4_096

/**
 * Maps one channel of topics (live messages, retained messages) under `<prefix>[.<channel>]`.
 * Topic -> subject results are cached (bounded; cleared when full) because every exported message
 * needs one.
 */
export class SubjectMap {
  readonly prefix: string
  readonly maxSubjectBytes: number
  readonly #plain: string
  readonly #dollar: string
  #cache = new Map<string, string | null>()
  #back = new Map<string, string>()

  constructor(options: SubjectMapOptions = {}, channel?: string) {
    const prefix = options.prefix ?? 'mqtt'
    if (!PREFIX_PATTERN.test(prefix)) throw new Error(`subject prefix ${JSON.stringify(prefix)} is not allowed: expected 1 to 4 NATS tokens of letters, digits, '-' and '_' separated by '.'`)
    this.prefix = channel === undefined ? prefix : `${prefix}.${channel}`
    this.maxSubjectBytes = options.maxSubjectBytes ?? DEFAULT_MAX_SUBJECT_BYTES
    this.#plain = `${this.prefix}.t`
    this.#dollar = `${this.prefix}.s`
  }

  /** Every subject of this map (a stream's subject list): "<prefix>.>". */
  get all(): string {
    return `${this.prefix}.>`
  }

  /** The subject of a valid topic name, or undefined when it would be longer than maxSubjectBytes. */
  topic(topic: string): string | undefined {
    const hit = this.#cache.get(topic)
    if (hit !== undefined) return hit ?? undefined
    const subject = this.#encode(topic)
    if (this.#cache.size >= CACHE_MAX) this.#cache = new Map()
    this.#cache.set(topic, subject ?? null)
    return subject
  }

  #encode(topic: string): string | undefined {
    const root = topic.charCodeAt(0) === 0x24 ? this.#dollar : this.#plain
    let subject: string
    if (!NEEDS_ESCAPE.test(topic) && !hasEmptyLevel(topic)) subject = `${root}.${topic.replaceAll('/', '.')}`
    else subject = `${root}.${topic.split('/').map(escapeLevel).join('.')}`
    return this.#fits(subject) ? subject : undefined
  }

  /** The topic of a subject of this map, or undefined when it is not one (foreign or not canonical). Cached. */
  toTopic(subject: string): string | undefined {
    const hit = this.#back.get(subject)
    if (hit !== undefined) return hit
    let topic = this.#decode(subject)
    // A subject from the network must also be a valid MQTT topic name (no '+' or '#', levels, length).
    if (topic !== undefined && validateTopicName(topic) !== undefined) topic = undefined
    if (topic !== undefined) {
      if (this.#back.size >= CACHE_MAX) this.#back = new Map()
      this.#back.set(subject, topic)
    }
    return topic
  }

  #decode(subject: string): string | undefined {
    let rest: string
    if (subject.startsWith(this.#plain) && subject.charCodeAt(this.#plain.length) === 0x2e) {
      rest = subject.slice(this.#plain.length + 1)
      if (rest.charCodeAt(0) === 0x24) return undefined // '$' topics live under the other root
    } else if (subject.startsWith(this.#dollar) && subject.charCodeAt(this.#dollar.length) === 0x2e) {
      rest = subject.slice(this.#dollar.length + 1)
      if (rest.charCodeAt(0) !== 0x24) return undefined
    } else return undefined
    if (rest.length === 0) return undefined
    if (rest.indexOf('~') === -1 && !/[\x00-\x20\x7f*>]/.test(rest) && !rest.includes('..') && !rest.endsWith('.') && rest.charCodeAt(0) !== 0x2e) {
      return rest.replaceAll('.', '/')
    }
    const tokens = rest.split('.')
    const levels = new Array<string>(tokens.length)
    for (let i = 0; i < tokens.length; i++) {
      const level = unescapeLevel(tokens[i])
      if (level === undefined) return undefined
      levels[i] = level
    }
    return levels.join('/')
  }

  /**
   * The NATS subscriptions of a valid topic filter (shared ones included); `subjects` is empty when
   * a subject would be longer than maxSubjectBytes.
   */
  filter(filter: string): FilterSubjects {
    const share = parseShared(filter)
    const plain = share?.filter ?? filter
    const levels = plain.split('/')
    const root = plain.charCodeAt(0) === 0x24 ? this.#dollar : this.#plain
    const tokens = levels.map((l) => (l === '+' ? '*' : l === '#' ? '>' : escapeLevel(l)))
    const subjects = [`${root}.${tokens.join('.')}`]
    // "a/#" also matches "a" [MQTT-4.7.1-2]; "#" alone has no parent level.
    if (levels.length > 1 && levels[levels.length - 1] === '#') subjects.push(`${root}.${tokens.slice(0, -1).join('.')}`)
    const out: FilterSubjects = {subjects: subjects.every((s) => this.#fits(s)) ? subjects : [], filter: plain}
    if (share !== undefined) out.queue = queueName(share.group, share.filter)
    return out
  }

  #fits(subject: string): boolean {
    return subject.length * 3 <= this.maxSubjectBytes || Buffer.byteLength(subject, 'utf8') <= this.maxSubjectBytes
  }
}

function hasEmptyLevel(topic: string): boolean {
  return topic.charCodeAt(0) === 0x2f || topic.charCodeAt(topic.length - 1) === 0x2f || topic.includes('//')
}
