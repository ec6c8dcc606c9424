/**
 * Topic name / topic filter rules (MQTT 5.0 §4.7, §4.8.2; MQTT 3.1.1 §4.7) and strict UTF-8 checking
 * (MQTT 5.0 §1.5.4, MQTT 3.1.1 §1.5.3). Pure functions, no allocation on the success path.
 */
import {isUtf8} from 'node:buffer'

/** [MQTT-4.7.3-3] Topic names and filters MUST NOT encode to more than 65,535 bytes. */
export const MAX_TOPIC_BYTES = 65_535
export const SHARE_PREFIX = '$share/'
/**
 * Most levels a topic name or filter may have (as aedes; the spec sets no limit). The topic trie and
 * the retained store walk one node per level, and a client must not be able to make that walk, or
 * the memory of one subscription, proportional to a 64 KB string of slashes. Beyond it: PUBLISH
 * closes the connection (MQTT 5: DISCONNECT 0x90), SUBSCRIBE / UNSUBSCRIBE answer 0x8F (3.1.1 SUBACK
 * 0x80), a will topic refuses the CONNECT (MQTT 5: CONNACK 0x90).
 */
export const MAX_TOPIC_LEVELS = 128

const SLASH = 0x2f
const PLUS = 0x2b
const HASH = 0x23
const DOLLAR = 0x24

/** One UTF-16 code unit is at most 3 UTF-8 bytes, so only long strings need a byte count. */
function tooLong(s: string): boolean {
  return s.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_TOPIC_BYTES
}

/** More than MAX_TOPIC_LEVELS levels from index `start` on (only strings that long can have that many). */
function tooDeep(s: string, start: number): boolean {
  if (s.length - start < MAX_TOPIC_LEVELS) return false
  let slashes = 0
  for (let i = s.indexOf('/', start); i !== -1; i = s.indexOf('/', i + 1)) if (++slashes >= MAX_TOPIC_LEVELS) return true
  return false
}

/** undefined when `topic` is a valid PUBLISH topic name, else a short reason. */
export function validateTopicName(topic: string): string | undefined {
  if (topic.length === 0) return 'topic name is empty' // [MQTT-4.7.3-1]
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === PLUS || c === HASH) return 'wildcard in topic name' // [MQTT-4.7.1-1] [MQTT-3.3.2-2]
    if (c === 0) return 'null character in topic name' // [MQTT-4.7.3-2]
  }
  if (tooLong(topic)) return 'topic name longer than 65535 bytes' // [MQTT-4.7.3-3]
  if (tooDeep(topic, 0)) return `topic name with more than ${MAX_TOPIC_LEVELS} levels`
  return undefined
}

/** Checks the wildcard placement of a (non-shared) filter from index `start`. */
function checkFilterLevels(filter: string, start: number): string | undefined {
  const end = filter.length
  if (start >= end) return 'topic filter is empty' // [MQTT-4.7.3-1]
  if (tooDeep(filter, start)) return `topic filter with more than ${MAX_TOPIC_LEVELS} levels`
  for (let i = start; i < end; i++) {
    const c = filter.charCodeAt(i)
    if (c === 0) return 'null character in topic filter' // [MQTT-4.7.3-2]
    if (c === HASH) {
      // [MQTT-4.7.1-2] '#' on its own or after '/', and the last character of the filter.
      if (i !== end - 1) return "'#' must be the last character"
      if (i !== start && filter.charCodeAt(i - 1) !== SLASH) return "'#' must occupy a whole level"
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] '+' occupies an entire level.
      if (i !== start && filter.charCodeAt(i - 1) !== SLASH) return "'+' must occupy a whole level"
      if (i !== end - 1 && filter.charCodeAt(i + 1) !== SLASH) return "'+' must occupy a whole level"
    }
  }
  return undefined
}

/**
 * undefined when `filter` is a valid SUBSCRIBE/UNSUBSCRIBE topic filter, else a short reason.
 * Accepts shared subscriptions "$share/<group>/<filter>" (MQTT 5 §4.8.2). Note: a shared subscription
 * with No Local = 1 is a protocol error [MQTT-3.8.3-4]; that needs the options, so the SUBSCRIBE
 * handler checks it.
 */
export function validateTopicFilter(filter: string): string | undefined {
  if (filter.length === 0) return 'topic filter is empty' // [MQTT-4.7.3-1]
  if (tooLong(filter)) return 'topic filter longer than 65535 bytes' // [MQTT-4.7.3-3]
  if (!filter.startsWith(SHARE_PREFIX)) return checkFilterLevels(filter, 0)
  const groupEnd = filter.indexOf('/', SHARE_PREFIX.length)
  // [MQTT-4.8.2-1] ShareName at least one character; [MQTT-4.8.2-2] followed by '/' and a filter.
  if (groupEnd === -1) return 'shared subscription without a topic filter'
  if (groupEnd === SHARE_PREFIX.length) return 'shared subscription with an empty share name'
  for (let i = SHARE_PREFIX.length; i < groupEnd; i++) {
    const c = filter.charCodeAt(i)
    // [MQTT-4.8.2-2] ShareName MUST NOT contain '/', '+' or '#'.
    if (c === PLUS || c === HASH) return "share name must not contain '+' or '#'"
    if (c === 0) return 'null character in share name' // [MQTT-4.7.3-2]
  }
  const reason = checkFilterLevels(filter, groupEnd + 1)
  return reason === undefined ? undefined : `shared subscription: ${reason}`
}

/** Splits "$share/<group>/<filter>"; undefined when `filter` is not a (well-formed) shared filter. */
export function parseShared(filter: string): {group: string; filter: string} | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined
  const groupEnd = filter.indexOf('/', SHARE_PREFIX.length)
  if (groupEnd <= SHARE_PREFIX.length || groupEnd === filter.length - 1) return undefined
  return {group: filter.slice(SHARE_PREFIX.length, groupEnd), filter: filter.slice(groupEnd + 1)}
}

/**
 * Does the (valid, non-shared) `filter` match the (valid) topic name? Walks both strings in place,
 * no allocation. [MQTT-4.7.2-1] a filter starting with '+' or '#' does not match a topic starting
 * with '$'. "sport/#" matches "sport" (the parent level, §4.7.1.2).
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const fl = filter.length
  const tl = topic.length
  if (topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0)
    if (f0 === PLUS || f0 === HASH) return false
  }
  let f = 0
  let t = 0
  for (;;) {
    // Here f and t are at the start of a level.
    const c = filter.charCodeAt(f)
    if (c === HASH) return true // "#" or ".../#": the rest of the topic, including nothing
    if (c === PLUS) {
      while (t < tl && topic.charCodeAt(t) !== SLASH) t++ // any one level, possibly empty
      f++
    } else {
      for (; f < fl; f++, t++) {
        const fc = filter.charCodeAt(f)
        if (fc === SLASH) break
        if (t >= tl || topic.charCodeAt(t) !== fc) return false
      }
      if (t < tl && topic.charCodeAt(t) !== SLASH) return false
    }
    // f is at '/' or the end of the filter; t at '/' or the end of the topic.
    if (f >= fl) return t >= tl
    // The topic ended: only a trailing "/#" may follow ("sport/#" matches "sport").
    if (t >= tl) return f + 2 === fl && filter.charCodeAt(f + 1) === HASH
    f++
    t++
  }
}

/**
 * Strict UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.3-1]: well-formed (no overlong forms, no surrogates
 * U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequences) and no U+0000 [MQTT-1.5.4-2]
 * [MQTT-1.5.3-2]. mqtt-packet decodes with toString('utf8'), which silently replaces bad bytes, so
 * the broker calls this on the raw bytes. Short ASCII strings (the common topic) stay in the JS loop;
 * anything else goes to Node's native validator (simdutf), which is strict in the same way.
 */
export function isValidUtf8(buf: Uint8Array, start = 0, end = buf.length): boolean {
  let i = start
  if (end - i <= 64) {
    for (; i < end; i++) {
      const b = buf[i]
      if (b === 0) return false
      if (b >= 0x80) break
    }
    if (i === end) return true
  }
  const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end)
  return isUtf8(view) && view.indexOf(0) === -1
}
