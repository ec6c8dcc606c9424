/**
 * Doctor: the durable store's data directory. Which file system it is on (tmpfs loses everything at a
 * reboot, NFS and FUSE do not give the fsync guarantees the durability contract rests on), the free
 * space against what the store holds now (a compaction writes a new snapshot before it removes the
 * old files), and what an fdatasync costs there (the floor under a QoS 1 PUBACK's latency).
 */
import {closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {formatBytes, formatInt} from '../cli/render.js'
import type {BrokerConfig} from '../config/index.js'
import type {DoctorCheck} from './types.js'

/** statfs f_type magic numbers (linux/magic.h) of file systems worth naming. */
const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x2fc12fc1: 'zfs',
  0x01021994: 'tmpfs',
  0x858458f6: 'ramfs',
  0x6969: 'nfs',
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x65735546: 'fuse',
  0x794c7630: 'overlayfs',
  0x5346544e: 'ntfs',
  0x4d44: 'vfat',
}
const VOLATILE = new Set(['tmpfs', 'ramfs'])
const REMOTE = new Set(['nfs', 'cifs', 'smb2', 'fuse'])

function storeBytes(dir: string): number {
  let n = 0
  const storeDir = join(dir, 'store')
  if (!existsSync(storeDir)) return 0
  for (const f of readdirSync(storeDir)) {
    try {
      n += statSync(join(storeDir, f)).size
    } catch {
      // removed meanwhile (a compaction of the running broker)
    }
  }
  return n
}

/** Median of `n` 4 KiB write + fdatasync rounds in a temporary file under `dir`, ms. */
export function fdatasyncMs(dir: string, n = 20): number {
  const probe = mkdtempSync(join(dir, '.mqttctl-doctor-sync-'))
  try {
    const fd = openSync(join(probe, 'probe'), 'w')
    const buf = Buffer.alloc(4096, 1)
    const times: number[] = []
    try {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        writeSync(fd, buf, 0, buf.length, i * buf.length)
        fdatasyncSync(fd)
        times.push(performance.now() - t0)
      }
    } finally {
      closeSync(fd)
    }
    times.sort((a, b) => a - b)
    return times[Math.floor(n / 2)]
  } finally {
    rmSync(probe, {recursive: true, force: true})
  }
}

export function checkStore(config: BrokerConfig, dataDir: string, probe: (dir: string) => number = fdatasyncMs): DoctorCheck {
  const base = {id: 'store', name: 'Durable store: file system, space, fsync'}
  if (config.persistence.mode === 'none') {
    return {
      ...base,
      status: 'warn',
      detail: 'persistence.mode is none: sessions, queued QoS 1/2 and retained messages are lost at every restart',
      fix: 'remove "persistence": "none" from the configuration (the durable store is the default)',
    }
  }
  let existing = dataDir
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  let fs
  try {
    fs = statfsSync(existing)
  } catch (error) {
    return {...base, status: 'fail', detail: `cannot read the file system of ${existing} (${(error as NodeJS.ErrnoException).code})`, fix: 'set dataDir to a local directory the broker can write'}
  }
  const type = FS_TYPES[Number(fs.type)] ?? `type 0x${Number(fs.type).toString(16)}`
  const free = fs.bavail * fs.bsize
  const held = storeBytes(dataDir)
  const compactBytes = config.persistence.compactMb * 1024 * 1024
  // A compaction writes a full snapshot next to the old one and the journal.
  const need = 2 * held + compactBytes
  let syncMs: number | undefined
  try {
    syncMs = probe(existing)
  } catch {
    // not writable: the data-dir check says so
  }
  const sync = syncMs === undefined ? 'fdatasync not measured' : `fdatasync ${syncMs.toFixed(2)} ms (about ${formatInt(Math.floor(1000 / Math.max(syncMs, 0.001)))} group commits/s)`
  const detail = `${type} at ${existing}; store ${formatBytes(held)}, ${formatBytes(free)} free (${formatBytes(need)} wanted for a compaction); ${sync}; sync ${config.persistence.sync}`
  if (VOLATILE.has(type)) return {...base, status: 'fail', detail, fix: `${type} is memory: the store is lost at a reboot. Set dataDir to a disk-backed file system`}
  if (free < need) return {...base, status: 'fail', detail, fix: 'free space or move dataDir: with the disk full the broker refuses QoS 1/2 work that needs the disk'}
  if (REMOTE.has(type)) return {...base, status: 'warn', detail, fix: `${type}: fsync and rename are not reliably durable; keep the store on a local disk`}
  if (syncMs !== undefined && syncMs > 20 && config.persistence.sync === 'always') {
    return {...base, status: 'warn', detail, fix: 'slow fdatasync caps durable QoS 1/2 at one batch per fsync: a faster disk, or persistence.sync "interval" (bounded loss window, docs/durability.md)'}
  }
  return {...base, status: 'pass', detail}
}
