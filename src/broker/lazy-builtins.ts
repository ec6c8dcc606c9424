/**
 * Node.js built-ins the broker needs only for some configurations, loaded on first use instead of at
 * start: a plain TCP broker without a password file never loads them. An ES import of a built-in
 * loads it with the module graph, before the broker can know whether it is used.
 * - node:tls: TLS listeners and their certificate checks (listeners/tls.ts).
 * - node:crypto: a client id the broker assigns, password hashes and their cache (auth/).
 * Together about 2 MB of an idle broker's RSS (crypto and OpenSSL's set-up), measured in
 * docs/sizing.md's "What the idle runtime costs".
 */
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)

export const nodeTls = (): typeof import('node:tls') => require('node:tls')

export const nodeCrypto = (): typeof import('node:crypto') => require('node:crypto')
