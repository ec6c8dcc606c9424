/**
 * Mosquitto's password file, read as is: one `user:hash` per line (hashes: password-hash.ts), blank
 * lines and lines starting with '#' ignored. Anything else stops the load with the line number.
 */
import {AuthFileError, CONTROL, readAuthLines} from './files.js'
import {parseHash, type PasswordHash} from './password-hash.js'

/** Most users one password file may hold. */
export const MAX_USERS = 1_000_000
/** MQTT user names are UTF-8 strings of at most 65,535 bytes. */
export const MAX_USERNAME_BYTES = 65_535

export interface PasswordEntry {
  /** The hash as written in the file (the credential cache compares it to notice a change). */
  readonly text: string
  readonly hash: PasswordHash
}

export type PasswordTable = ReadonlyMap<string, PasswordEntry>

/** undefined when `name` may be a user name in the file, else why not. */
export function checkUsername(name: string): string | undefined {
  if (name === '') return 'the user name is empty'
  if (name.includes(':')) return 'a user name cannot contain ":"'
  if (CONTROL.test(name)) return 'a user name cannot contain control characters'
  if (Buffer.byteLength(name, 'utf8') > MAX_USERNAME_BYTES) return `a user name is at most ${MAX_USERNAME_BYTES} bytes`
  return undefined
}

export const isIgnorable = (line: string): boolean => line.trim() === '' || line.trimStart().startsWith('#')

/** Parses lines; throws AuthFileError naming `setting`, `path` and the line. */
export function parsePasswordLines(lines: readonly string[], setting: string, path: string): Map<string, PasswordEntry> {
  const users = new Map<string, PasswordEntry>()
  const firstLine = new Map<string, number>()
  lines.forEach((line, i) => {
    if (isIgnorable(line)) return
    const fail = (reason: string) => new AuthFileError(setting, path, i + 1, reason)
    const colon = line.indexOf(':')
    if (colon < 0) throw fail('expected user:hash')
    const user = line.slice(0, colon)
    const bad = checkUsername(user)
    if (bad) throw fail(bad)
    const text = line.slice(colon + 1).trim()
    const hash = parseHash(text)
    if (typeof hash === 'string') throw fail(`user ${JSON.stringify(user)}: ${hash}`)
    if (users.has(user)) throw fail(`user ${JSON.stringify(user)} is already defined on line ${firstLine.get(user)}`)
    if (users.size >= MAX_USERS) throw fail(`more than ${MAX_USERS} users`)
    users.set(user, {text, hash})
    firstLine.set(user, i + 1)
  })
  return users
}

export function loadPasswordFile(path: string, setting = 'auth.passwordFile'): Map<string, PasswordEntry> {
  return parsePasswordLines(readAuthLines(setting, path), setting, path)
}
