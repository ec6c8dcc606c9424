/**
 * Doctor checks that only read this machine and the configuration: Node.js, configuration, OS
 * limits, listen address, log level, configuration backup. Each returns one DoctorCheck.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {networkInterfaces} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {formatInt} from '../cli/render.js'
import type {BrokerConfig} from '../config/index.js'
import {isAnyAddress} from '../net.js'
import type {Tier} from '../sizing/tiers.js'
import {checkLinux} from '../tune/check.js'
import type {DoctorCheck} from './types.js'

export const MIN_NODE_MAJOR = 20
/** File descriptors the broker needs besides its connections: data files, logs, listeners, the metrics port. */
export const FD_OVERHEAD = 1_024

export function checkNode(version: string = process.versions.node): DoctorCheck {
  const major = Number(version.split('.')[0])
  const base = {id: 'node', name: 'Node.js version'}
  if (major >= MIN_NODE_MAJOR) return {...base, status: 'pass', detail: `Node.js ${version} (needs ${MIN_NODE_MAJOR} or later)`}
  return {...base, status: 'fail', detail: `Node.js ${version} is older than ${MIN_NODE_MAJOR}`, fix: `install Node.js ${MIN_NODE_MAJOR} LTS or later`}
}

export function checkConfigCapacity(config: BrokerConfig, file: string | null, devices: number | undefined): DoctorCheck {
  const base = {id: 'config', name: 'Configuration valid'}
  const source = file ? `${file} is valid` : 'no configuration file: defaults (and MQTTCTL_* environment)'
  if (devices !== undefined && config.maxConnections < devices) {
    return {
      ...base,
      status: 'fail',
      detail: `${source}, but maxConnections ${formatInt(config.maxConnections)} is below the ${formatInt(devices)} devices planned`,
      fix: `mqttctl plan --devices ${devices} --write broker.json, then start with --config broker.json`,
    }
  }
  const detail = `${source}; maxConnections ${formatInt(config.maxConnections)}`
  if (!file) return {...base, status: 'warn', detail, fix: 'write one with mqttctl plan --devices N --write broker.json, so the deployment is reproducible and can be backed up'}
  return {...base, status: 'pass', detail}
}

export interface OsLimitsInput {
  tier: Tier
  /** Connections the broker must hold open. */
  connections: number
  platform?: string
  /** A copy of / (tests). */
  root?: string
}

export function checkOsLimits(input: OsLimitsInput): DoctorCheck {
  const base = {id: 'os-limits', name: 'OS limits vs the plan'}
  const platform = input.platform ?? process.platform
  if (platform !== 'linux') {
    return {...base, status: 'warn', detail: `not checked on ${platform}`, fix: `run the scripts from mqttctl tune --os ${platform === 'win32' ? 'windows' : 'macos'} --tier ${input.tier.name}`}
  }
  const result = checkLinux({tier: input.tier, root: input.root})
  const unit = result.rows.find((r) => r.key.startsWith('LimitNOFILE'))
  const fdRow = unit ?? result.rows.find((r) => r.key.startsWith('ulimit -n'))!
  const fds = fdRow.current === 'unlimited' ? Infinity : Number(fdRow.current)
  const need = input.connections + FD_OVERHEAD
  const tuneCmd = `sudo mqttctl tune --apply --tier ${input.tier.name} (or mqttctl tune --out DIR and DIR/apply.sh)`
  if (!(fds >= need)) {
    return {
      ...base,
      status: 'fail',
      detail: `${unit ? 'LimitNOFILE of mqtt-broker.service' : 'ulimit -n'} is ${fdRow.current}: fewer than the ${formatInt(need)} file descriptors ${formatInt(input.connections)} connections need`,
      fix: unit ? `raise LimitNOFILE to ${input.tier.os.openFiles}: ${tuneCmd}` : `ulimit -n ${input.tier.os.openFiles} for this shell; permanently: ${tuneCmd}`,
    }
  }
  const short = result.rows.filter((r) => r.source === 'sysctl' && !['ok', 'n/a'].includes(r.status))
  if (short.length > 0) {
    const keys = short.map((r) => `${r.key} ${r.current} (${r.status}, want ${r.recommended})`)
    return {...base, status: 'warn', detail: `open files ${fdRow.current} suffice; ${short.length} kernel settings below the ${input.tier.name} tier: ${keys.slice(0, 3).join('; ')}${short.length > 3 ? '; ...' : ''}`, fix: `see mqttctl tune --check --tier ${input.tier.name}; ${tuneCmd}`}
  }
  return {...base, status: 'pass', detail: `open files ${fdRow.current} and every kernel setting meet the ${input.tier.name} tier`}
}

const LOOPBACK = /^(127\.|::1$|\[::1\]$|localhost$)/

export function checkListenAddress(config: BrokerConfig, interfaces = networkInterfaces()): DoctorCheck {
  const base = {id: 'listen-address', name: 'Listen address'}
  const local = new Set(Object.values(interfaces).flatMap((list) => (list ?? []).map((i) => i.address)))
  const shown = config.listeners.map((l) => `${l.host}:${l.port}`).join(', ')
  const missing = config.listeners.filter((l) => !isAnyAddress(l.host) && !LOOPBACK.test(l.host) && !local.has(l.host.replace(/^\[|\]$/g, '')))
  if (missing.length > 0) {
    return {...base, status: 'fail', detail: `${missing.map((l) => l.host).join(', ')} is not an address of this machine (it has ${[...local].join(', ')})`, fix: 'set listeners[].host to one of these addresses, or 0.0.0.0 for every interface'}
  }
  if (config.listeners.every((l) => LOOPBACK.test(l.host))) {
    return {...base, status: 'warn', detail: `${shown}: only clients on this machine can connect`, fix: 'set listeners[].host to 0.0.0.0 (the guide\'s default) or this machine\'s LAN address for devices to connect'}
  }
  return {...base, status: 'pass', detail: shown + (config.listeners.some((l) => isAnyAddress(l.host)) ? ' (every interface)' : '')}
}

export function checkLogLevel(config: BrokerConfig, tier: Tier): DoctorCheck {
  const base = {id: 'log-level', name: 'Log level for the tier'}
  const want = tier.broker.logLevel
  const level = config.logLevel
  if (level === 'debug') {
    const status = tier.name === 'small' ? 'warn' : 'fail'
    return {...base, status, detail: `logLevel debug costs 30 – 50 % CPU (guide §5.3); the ${tier.name} tier runs at ${want}`, fix: `set logLevel to ${want}`}
  }
  if (level === 'info' && want === 'warn') {
    return {...base, status: 'warn', detail: `logLevel info costs < 5 % CPU; the guide runs the ${tier.name} tier at warn (< 1 %)`, fix: 'set logLevel to warn'}
  }
  if (level === 'error') {
    return {...base, status: 'warn', detail: 'logLevel error hides "Connection limit reached" and other warnings', fix: `set logLevel to ${want}`}
  }
  return {...base, status: 'pass', detail: `logLevel ${level} (the guide's ${want} for the ${tier.name} tier${level !== want ? ', or quieter' : ''})`}
}

/** A copy next to the file (name.bak, name.orig, name.<anything>.bak, backup/name), or git tracking it unchanged. */
export function checkBackup(file: string | null): DoctorCheck {
  const base = {id: 'backup', name: 'Configuration backed up'}
  if (!file) return {...base, status: 'warn', detail: 'no configuration file to back up', fix: 'mqttctl plan --devices N --write broker.json, then keep a copy'}
  const dir = dirname(file)
  const name = basename(file)
  const copies = (existsSync(dir) ? readdirSync(dir) : []).filter((f) => f !== name && (f === `${name}.bak` || f === `${name}.orig` || (f.startsWith(`${name}.`) && f.endsWith('.bak'))))
  if (existsSync(join(dir, 'backup', name))) copies.push(join('backup', name))
  if (copies.length > 0) return {...base, status: 'pass', detail: `copy found: ${copies.join(', ')}`}
  try {
    execFileSync('git', ['-C', dir, 'ls-files', '--error-unmatch', name], {stdio: 'ignore'})
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', name], {encoding: 'utf8'}).trim()
    if (!dirty) return {...base, status: 'pass', detail: `${name} is committed in git`}
    return {...base, status: 'warn', detail: `${name} has changes not committed to git`, fix: `git -C ${dir} commit ${name}`}
  } catch {
    return {...base, status: 'warn', detail: `no copy of ${file} found (${name}.bak, backup/${name} or git)`, fix: `cp ${file} ${file}.$(date +%F).bak (and keep it off this machine)`}
  }
}
