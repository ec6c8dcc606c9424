/**
 * The cluster's configuration, checked: NATS server URLs (--cluster, cluster.servers), the subject
 * prefix and the node name. Everything here comes from flags, files or the environment, so each bad
 * value gives one line naming it and what is allowed.
 */
import type {ClusterConfig} from '../../config/schema.js'
import {PREFIX_PATTERN} from './subjects.js'

export const MAX_NATS_SERVERS = 32
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

export class ClusterConfigError extends Error {}

/**
 * One NATS URL: nats://host[:port] or tls://host[:port] (port 4222 when left out), user info allowed,
 * nothing after the port. Returns it normalised (scheme and port written out).
 */
export function checkNatsUrl(text: string, where = '--cluster'): string {
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text)
  const bad = (why: string) => new ClusterConfigError(`${where} ${shown} is not allowed: ${why}; expected nats://host:4222 (several separated by commas)`)
  const t = text.trim()
  if (t === '') throw bad('empty URL')
  if (t.length > 1024) throw bad('longer than 1024 characters')
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `nats://${t}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw bad('not a URL')
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw bad(`scheme ${url.protocol.slice(0, -1)} (only nats:// and tls://)`)
  if (url.hostname === '') throw bad('no host')
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') throw bad('a path, query or fragment after the port')
  const port = url.port === '' ? 4222 : Number(url.port)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw bad('port outside 1 to 65,535')
  const auth = url.username === '' ? '' : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`
  return `${url.protocol}//${auth}${url.hostname}:${port}`
}

/** "nats://a:4222,nats://b:4222" -> checked URLs (at most MAX_NATS_SERVERS). */
export function parseNatsUrls(text: string, where = '--cluster'): string[] {
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length > MAX_NATS_SERVERS) throw new ClusterConfigError(`${where} lists ${parts.length} URLs: at most ${MAX_NATS_SERVERS} are allowed`)
  return parts.map((p) => checkNatsUrl(p, where))
}

/** The cluster section of a loaded configuration, checked. */
export function checkClusterConfig(c: ClusterConfig): ClusterConfig {
  if (c.servers.length > MAX_NATS_SERVERS) throw new ClusterConfigError(`cluster.servers lists ${c.servers.length} URLs: at most ${MAX_NATS_SERVERS} are allowed`)
  const servers = c.servers.map((s) => checkNatsUrl(s, 'cluster.servers'))
  if (!PREFIX_PATTERN.test(c.subjectPrefix)) {
    throw new ClusterConfigError(`cluster.subjectPrefix ${JSON.stringify(c.subjectPrefix.slice(0, 100))} is not allowed: expected 1 to 4 NATS tokens of letters, digits, '-' and '_' separated by '.' (e.g. "mqtt" or "site1.mqtt")`)
  }
  if (c.nodeName !== undefined && !NAME_PATTERN.test(c.nodeName)) {
    throw new ClusterConfigError(`cluster.nodeName ${JSON.stringify(c.nodeName.slice(0, 100))} is not allowed: expected 1 to 64 letters, digits, '.', '-' or '_'`)
  }
  return {...c, servers}
}
