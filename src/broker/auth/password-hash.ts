/**
 * Mosquitto's password hashes, read and written byte for byte as mosquitto_passwd does:
 *
 *   $7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512, 64-byte hash (Mosquitto 2.0)
 *   $6$<base64 salt>$<base64 hash>                SHA-512(password || salt) (Mosquitto 1.x)
 *
 * Verification of $7$ runs on libuv's thread pool (crypto.pbkdf2), so a slow hash never blocks the
 * event loop; comparison is constant-time.
 */
import {nodeCrypto} from '../lazy-builtins.js'

/**
 * Iterations `mqttctl passwd` writes: OWASP's 2023 figure for PBKDF2-HMAC-SHA512. mosquitto_passwd
 * writes 101, which a GPU tries by the billion; the broker caches verified logins, so the cost is paid
 * once per user and password, not per connection.
 */
export const DEFAULT_ITERATIONS = 210_000
/** Largest iteration count accepted in a file: one verification must stay well under a second or so. */
export const MAX_ITERATIONS = 10_000_000
const SALT_BYTES = 12
const HASH_BYTES = 64

export type PasswordHash =
  | {kind: 7; iterations: number; salt: Buffer; hash: Buffer}
  | {kind: 6; salt: Buffer; hash: Buffer}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Parses the part after "user:"; returns a reason string when it is not a hash Mosquitto writes. */
export function parseHash(text: string): PasswordHash | string {
  const parts = text.split('$')
  if (parts[0] !== '' || (parts[1] !== '7' && parts[1] !== '6')) {
    return 'expected a hash written by mosquitto_passwd or mqttctl passwd ($7$... or $6$...); plain-text passwords are not accepted'
  }
  const b64 = (s: string | undefined, what: string): Buffer | string => (s !== undefined && B64.test(s) ? Buffer.from(s, 'base64') : `the ${what} is not base64`)
  if (parts[1] === '7') {
    if (parts.length !== 5) return 'a $7$ hash has the form $7$<iterations>$<salt>$<hash>'
    if (!/^[1-9][0-9]{0,8}$/.test(parts[2]) || Number(parts[2]) > MAX_ITERATIONS) return `the iteration count ${JSON.stringify(parts[2])} is not an integer from 1 to ${MAX_ITERATIONS}`
    const salt = b64(parts[3], 'salt')
    const hash = b64(parts[4], 'hash')
    if (typeof salt === 'string') return salt
    if (typeof hash === 'string') return hash
    if (hash.length !== HASH_BYTES) return `the hash has ${hash.length} bytes, expected ${HASH_BYTES} (PBKDF2-SHA512)`
    return {kind: 7, iterations: Number(parts[2]), salt, hash}
  }
  if (parts.length !== 4) return 'a $6$ hash has the form $6$<salt>$<hash>'
  const salt = b64(parts[2], 'salt')
  const hash = b64(parts[3], 'hash')
  if (typeof salt === 'string') return salt
  if (typeof hash === 'string') return hash
  if (hash.length !== HASH_BYTES) return `the hash has ${hash.length} bytes, expected ${HASH_BYTES} (SHA-512)`
  return {kind: 6, salt, hash}
}

function sha512(password: Buffer, salt: Buffer): Buffer {
  return nodeCrypto().createHash('sha512').update(password).update(salt).digest()
}

/** Does `password` match? Async: a $7$ hash is computed off the event loop. */
export function verifyPassword(stored: PasswordHash, password: Buffer): Promise<boolean> {
  if (stored.kind === 6) return Promise.resolve(nodeCrypto().timingSafeEqual(sha512(password, stored.salt), stored.hash))
  return new Promise((resolve, reject) => {
    nodeCrypto().pbkdf2(password, stored.salt, stored.iterations, HASH_BYTES, 'sha512', (err, key) => {
      if (err) reject(err)
      else resolve(nodeCrypto().timingSafeEqual(key, stored.hash))
    })
  })
}

/** Spends the time a verification at `iterations` takes, for unknown users (no user-name probing by timing). */
export function dummyVerify(iterations: number): Promise<void> {
  if (iterations <= 0) {
    sha512(Buffer.from('x'), Buffer.alloc(SALT_BYTES))
    return Promise.resolve()
  }
  return new Promise((resolve) => nodeCrypto().pbkdf2('x', 'mqttctl-dummy-salt', iterations, HASH_BYTES, 'sha512', () => resolve()))
}

/** A new $7$ line part, as mosquitto_passwd -H sha512-pbkdf2 -I N writes it. */
export function hashPassword(password: Buffer, iterations = DEFAULT_ITERATIONS): string {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new RangeError(`iterations must be an integer from 1 to ${MAX_ITERATIONS}`)
  const salt = nodeCrypto().randomBytes(SALT_BYTES)
  const hash = nodeCrypto().pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`
}
