/**
 * Doctor checks of who may connect and what they may do: the password file (anonymous access) and
 * the ACL file. Both files are loaded as the broker loads them, so a bad line fails here first.
 */
import {statSync} from 'node:fs'
import {loadAclFile} from '../broker/auth/acl.js'
import {AuthFileError} from '../broker/auth/files.js'
import {loadPasswordFile} from '../broker/auth/password-file.js'
import type {BrokerConfig} from '../config/index.js'
import {isAnyAddress} from '../net.js'
import type {DoctorCheck} from './types.js'

const LOOPBACK = /^(127\.|::1$|\[::1\]$|localhost$)/
const reachable = (config: BrokerConfig) => config.listeners.some((l) => isAnyAddress(l.host) || !LOOPBACK.test(l.host))
const ports = (config: BrokerConfig) => config.listeners.map((l) => l.port).join(', ')

export function checkAnonymous(config: BrokerConfig): DoctorCheck {
  const base = {id: 'auth', name: 'Authentication (anonymous access)'}
  const {passwordFile, allowAnonymous} = config.auth
  const anonymous = allowAnonymous ?? passwordFile === undefined
  if (passwordFile === undefined) {
    const detail = anonymous ? `no password file: anyone who reaches port ${ports(config)} can connect, publish and subscribe` : 'no password file: user names are taken as given, never checked'
    const fix = 'mqttctl passwd -c /etc/mqttctl/passwd USER, then set auth.passwordFile (or --password-file); see docs/security.md'
    return {...base, status: 'warn', detail: `${detail}${reachable(config) ? '' : ' (only from this machine)'}`, fix}
  }
  let users: number
  try {
    users = loadPasswordFile(passwordFile).size
  } catch (error) {
    if (!(error instanceof AuthFileError)) throw error
    return {...base, status: 'fail', detail: error.message, fix: 'fix that line (mqttctl passwd FILE USER rewrites a user); the broker will not start with it'}
  }
  const mode = statSync(passwordFile).mode & 0o777
  if (mode & 0o004) return {...base, status: 'warn', detail: `${passwordFile} (${users} users) is readable by every user of this machine (mode ${mode.toString(8)})`, fix: `chmod 600 ${passwordFile} (owned by the user the broker runs as)`}
  if (users === 0) return {...base, status: 'warn', detail: `${passwordFile} has no users: ${anonymous ? 'only anonymous clients' : 'no client'} can connect`, fix: `mqttctl passwd ${passwordFile} USER`}
  if (anonymous) return {...base, status: 'warn', detail: `password file ${passwordFile} (${users} users), but anonymous clients are allowed too`, fix: 'set auth.allowAnonymous to false unless anonymous clients are meant to connect'}
  return {...base, status: 'pass', detail: `password file ${passwordFile} (${users} users); anonymous clients refused`}
}

export function checkAcl(config: BrokerConfig): DoctorCheck {
  const base = {id: 'acl', name: 'Access control (ACL)'}
  const {aclFile, passwordFile} = config.auth
  if (aclFile === undefined) {
    return {...base, status: 'warn', detail: 'no ACL file: every client may publish and subscribe to every topic, $SYS included', fix: 'write a Mosquitto ACL file and set auth.aclFile (or --acl-file); see docs/security.md'}
  }
  let rules = 0
  try {
    const acl = loadAclFile(aclFile)
    rules = acl.anonymous.length + acl.patterns.length + [...acl.users.values()].reduce((n, r) => n + r.length, 0)
  } catch (error) {
    if (!(error instanceof AuthFileError)) throw error
    return {...base, status: 'fail', detail: error.message, fix: 'fix that line; the broker will not start with it'}
  }
  if (passwordFile === undefined) {
    return {...base, status: 'warn', detail: `ACL file ${aclFile} (${rules} rules), but without a password file any client can claim any user name the ACL trusts`, fix: 'set auth.passwordFile too'}
  }
  return {...base, status: 'pass', detail: `ACL file ${aclFile} (${rules} rules); everything it does not grant is denied`}
}
