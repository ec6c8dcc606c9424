/** A copy of the parts of / that tune reads and writes, in a temp dir: never this machine's settings. */
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {sysctlEntries} from '../../src/tune/linux.js'
import {tierByName} from '../../src/sizing/tiers.js'

export const LIMITS_HEADER = 'Limit                     Soft Limit           Hard Limit           Units     '

export function procLimits(openFiles: number | 'unlimited', processes: number | 'unlimited'): string {
  const row = (name: string, v: number | 'unlimited', unit: string) => `${name.padEnd(26)}${String(v).padEnd(21)}${String(v).padEnd(21)}${unit.padEnd(10)}`
  return [LIMITS_HEADER, row('Max cpu time', 'unlimited', 'seconds'), row('Max processes', processes, 'processes'), row('Max open files', openFiles, 'files'), ''].join('\n')
}

export function setKey(root: string, key: string, value: string): void {
  const path = join(root, 'proc/sys', ...key.split('.'))
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, `${value}\n`)
}

export function getKey(root: string, key: string): string {
  return readFileSync(join(root, 'proc/sys', ...key.split('.')), 'utf8').trim().replace(/\s+/g, ' ')
}

/** Every key the large tier touches, with the values of a stock kernel (tabs, as /proc prints them). */
export const STOCK: Record<string, string> = {
  'net.ipv4.ip_local_port_range': '32768\t60999',
  'net.ipv4.ip_local_reserved_ports': '',
  'net.ipv4.tcp_tw_reuse': '2',
  'net.ipv4.tcp_fin_timeout': '60',
  'net.core.somaxconn': '4096',
  'net.ipv4.tcp_max_syn_backlog': '2048',
  'net.core.netdev_max_backlog': '1000',
  'net.ipv4.tcp_syn_retries': '6',
  'net.ipv4.tcp_synack_retries': '5',
  'net.core.rmem_max': '212992',
  'net.core.wmem_max': '212992',
  'net.ipv4.tcp_rmem': '4096\t131072\t6291456',
  'net.ipv4.tcp_wmem': '4096\t16384\t4194304',
  'net.ipv4.tcp_keepalive_time': '7200',
  'net.ipv4.tcp_keepalive_intvl': '75',
  'net.ipv4.tcp_keepalive_probes': '9',
  'net.ipv4.tcp_slow_start_after_idle': '1',
  'net.ipv4.tcp_timestamps': '1',
  'net.ipv4.tcp_sack': '1',
  'net.ipv4.tcp_window_scaling': '1',
  'fs.nr_open': '1048576',
  'fs.file-max': '9223372036854775807',
  'net.ipv4.tcp_mem': '188316\t251088\t376632',
  'net.netfilter.nf_conntrack_max': '262144',
}

export function fakeRoot(overrides: Record<string, string | undefined> = {}, limits = procLimits(1024, 63_000)): string {
  const root = mkdtempSync(join(tmpdir(), 'mqttctl-root-'))
  for (const [key, value] of Object.entries({...STOCK, ...overrides})) if (value !== undefined) setKey(root, key, value)
  setKey(root, 'kernel.osrelease', '6.1.0-test')
  mkdirSync(join(root, 'proc/self'), {recursive: true})
  writeFileSync(join(root, 'proc/self/limits'), limits)
  return root
}

/** Sanity: STOCK covers every key of the largest tier. */
export const LARGE_KEYS = sysctlEntries(tierByName('large')).map((e) => e.key)
