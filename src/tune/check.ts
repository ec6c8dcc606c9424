/**
 * `tune --check`: reads a running Linux system (/proc/sys, the process limits `ulimit` shows, the
 * systemd unit if installed) and compares it with what `tune` recommends for a tier. `root` points
 * at a copy of / in tests; nothing here writes.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Tier} from '../sizing/tiers.js'
import {compareValue, normalize, type Status} from './compare.js'
import {linuxLimits, sysctlEntries} from './linux.js'
import {LINUX_DEST} from './render-linux.js'

export type CheckStatus = Status | 'not installed' | 'n/a'

export interface CheckRow {
  key: string
  source: 'sysctl' | 'ulimit' | 'systemd'
  current: string
  recommended: string
  status: CheckStatus
  note?: string
}

export interface CheckResult {
  tier: string
  kernel: string
  rows: CheckRow[]
  /** Rows that are short (anything but ok, n/a and "not installed"). */
  short: number
  ok: boolean
}

export interface CheckOptions {
  tier: Tier
  /** A copy of / (tests); default "/". */
  root?: string
  /** Process limits to read; default <root>/proc/self/limits (this process inherits the shell's ulimit). */
  limitsFile?: string
}

const sysPath = (root: string, key: string) => join(root, 'proc/sys', ...key.split('.'))

export function readSysctl(root: string, key: string): string | undefined {
  try {
    return normalize(readFileSync(sysPath(root, key), 'utf8'))
  } catch {
    return undefined
  }
}

/** Soft limits from /proc/<pid>/limits: {"Max open files": 1024, ...}; unlimited is Infinity. */
export function parseProcLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line)
    if (m) out[m[1]] = m[2] === 'unlimited' ? Infinity : Number(m[2])
  }
  return out
}

/** [Section] Key=Value pairs of a unit file (last assignment wins, as systemd does for limits). */
export function parseUnit(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const s = /^\[([A-Za-z]+)\]$/.exec(line)
    if (s) {
      section = s[1]
      out[section] ??= {}
      continue
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line)
    if (!kv || !section) throw new Error(`not a unit file line: ${raw}`)
    out[section][kv[1]] = kv[2]
  }
  return out
}

/** systemd limit value ("2000000", "1024:524288", "infinity") -> the soft limit. */
function unitLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const soft = value.split(':')[0]
  return soft === 'infinity' ? Infinity : Number(soft)
}

const show = (n: number | undefined) => (n === undefined ? '-' : n === Infinity ? 'unlimited' : String(n))

export function checkLinux(options: CheckOptions): CheckResult {
  const root = options.root ?? '/'
  const rows: CheckRow[] = []
  for (const e of sysctlEntries(options.tier)) {
    const current = readSysctl(root, e.key)
    if (current === undefined) {
      rows.push({key: e.key, source: 'sysctl', current: '-', recommended: e.value, status: e.optional ? 'n/a' : 'missing', note: e.optional ? 'module not loaded' : 'not on this kernel'})
    } else {
      rows.push({key: e.key, source: 'sysctl', current: current === '' ? '(empty)' : current, recommended: e.value, status: compareValue(e.mode, current, e.value)})
    }
  }
  const recycle = readSysctl(root, 'net.ipv4.tcp_tw_recycle')
  if (recycle !== undefined) {
    rows.push({key: 'net.ipv4.tcp_tw_recycle', source: 'sysctl', current: recycle, recommended: '0', status: recycle === '0' ? 'ok' : 'differs', note: 'breaks clients behind NAT; removed in Linux 4.12'})
  }

  const {openFiles, maxProcesses} = linuxLimits(options.tier)
  const limitsFile = options.limitsFile ?? join(root, 'proc/self/limits')
  const limits = existsSync(limitsFile) ? parseProcLimits(readFileSync(limitsFile, 'utf8')) : {}
  const ulimit = (key: string, label: string, want: number) => {
    const have = limits[label]
    rows.push({key, source: 'ulimit', current: show(have), recommended: String(want), status: have === undefined ? 'missing' : have >= want ? 'ok' : 'too low'})
  }
  ulimit('ulimit -n (open files)', 'Max open files', openFiles)
  ulimit('ulimit -u (processes)', 'Max processes', maxProcesses)

  const unitPath = join(root, LINUX_DEST.unit)
  if (existsSync(unitPath)) {
    const service = parseUnit(readFileSync(unitPath, 'utf8')).Service ?? {}
    for (const [key, want] of [['LimitNOFILE', openFiles], ['LimitNPROC', maxProcesses]] as const) {
      const have = unitLimit(service[key])
      rows.push({key: `${key} (mqtt-broker.service)`, source: 'systemd', current: show(have), recommended: String(want), status: have === undefined ? 'missing' : have >= want ? 'ok' : 'too low'})
    }
  } else {
    rows.push({key: 'mqtt-broker.service', source: 'systemd', current: 'not installed', recommended: 'installed', status: 'not installed', note: `${LINUX_DEST.unit} absent; fine when the broker runs with mqttctl start`})
  }

  const short = rows.filter((r) => !['ok', 'n/a', 'not installed'].includes(r.status)).length
  return {tier: options.tier.name, kernel: readKernel(root), rows, short, ok: short === 0}
}

export function readKernel(root = '/'): string {
  try {
    return readFileSync(join(root, 'proc/sys/kernel/osrelease'), 'utf8').trim()
  } catch {
    return 'unknown'
  }
}
