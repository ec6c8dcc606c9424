/**
 * Verified logins, remembered so a reconnect storm of a whole fleet costs one slow hash per user and
 * password, not one per connection. The key is HMAC-SHA256 under a random per-process key over
 * (length of user name, user name, password): the map holds no password and no unsalted hash of one.
 * (Someone who also dumps the key can test guesses at HMAC speed for the users in the cache; set
 * auth.credentialCache to 0 where that matters more than the connect rate.)
 *
 * An entry names the stored hash it was verified against; when the password file changes that
 * user's hash (or drops the user), the entry no longer counts.
 */
import {nodeCrypto} from '../lazy-builtins.js'

/** Default number of cached logins (about 150 bytes each). */
export const DEFAULT_CREDENTIAL_CACHE = 100_000

export class CredentialCache {
  readonly #key = nodeCrypto().randomBytes(32)
  readonly #entries = new Map<string, {username: string; hash: string}>()

  constructor(readonly capacity: number = DEFAULT_CREDENTIAL_CACHE) {}

  get size(): number {
    return this.#entries.size
  }

  /** The HMAC key of a login (also used to merge concurrent checks of the same login). */
  keyOf(username: string, password: Buffer): string {
    const len = Buffer.allocUnsafe(4)
    len.writeUInt32BE(Buffer.byteLength(username, 'utf8'))
    return nodeCrypto().createHmac('sha256', this.#key).update(len).update(username, 'utf8').update(password).digest('base64')
  }

  /** true when this user and password were verified against `currentHash` (the file's hash now). */
  has(username: string, password: Buffer, currentHash: string): boolean {
    if (this.capacity === 0) return false
    const key = this.keyOf(username, password)
    const e = this.#entries.get(key)
    if (e === undefined) return false
    if (e.username !== username || e.hash !== currentHash) {
      this.#entries.delete(key)
      return false
    }
    // Most recently used last: the oldest is the first to go when full.
    this.#entries.delete(key)
    this.#entries.set(key, e)
    return true
  }

  add(username: string, password: Buffer, hash: string): void {
    if (this.capacity === 0) return
    const key = this.keyOf(username, password)
    this.#entries.delete(key)
    if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, {username, hash})
  }

  /** Forgets every login. */
  clear(): void {
    this.#entries.clear()
  }
}
