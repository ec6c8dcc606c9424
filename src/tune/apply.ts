/**
 * `tune --apply`: show what would change, ask, then run the generated apply.sh (which backs up,
 * applies and verifies) and read the system again. One implementation of backup/apply/restore: the
 * script the user can also run by hand. `root` points at a copy of / in tests.
 */
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import type {Tier} from '../sizing/tiers.js'
import {checkLinux, type CheckResult, readSysctl} from './check.js'
import {mergeValue} from './compare.js'
import {renderTuneFiles} from './index.js'
import {sysctlEntries} from './linux.js'
import {LINUX_DEST} from './render-linux.js'
import type {TuneFile} from './types.js'
import {TuneError, writeTuneFiles} from './write.js'

export {TuneError}

/** Where --apply keeps the scripts it ran, so `sudo /var/lib/mqttctl/tune/apply.sh restore` undoes later. */
export const SCRIPT_DIR = 'var/lib/mqttctl/tune'

export interface SysctlChange {
  key: string
  current: string
  next: string
}

export interface FileChange {
  dest: string
  action: 'create' | 'replace' | 'unchanged'
  /** "-old" / "+new" lines (lines only in one of the two). */
  diff: string[]
}

export interface ApplyPlan {
  changes: SysctlChange[]
  skipped: string[]
  files: FileChange[]
}

const SOURCE_OF: Record<string, string> = {
  [LINUX_DEST.sysctl]: 'sysctl.d/99-mqtt.conf',
  [LINUX_DEST.limits]: 'limits.d/99-mqtt.conf',
  [LINUX_DEST.unit]: 'systemd/mqtt-broker.service',
}

function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n')
  const b = after.split('\n')
  const inA = new Set(a)
  const inB = new Set(b)
  return [...a.filter((l) => !inB.has(l)).map((l) => `-${l}`), ...b.filter((l) => !inA.has(l)).map((l) => `+${l}`)]
}

export function planApply(tier: Tier, files: TuneFile[], root = '/'): ApplyPlan {
  const changes: SysctlChange[] = []
  const skipped: string[] = []
  for (const e of sysctlEntries(tier)) {
    const current = readSysctl(root, e.key)
    if (current === undefined) {
      if (!e.optional) skipped.push(e.key)
      continue
    }
    const next = mergeValue(e.mode, current, e.value)
    if (next !== current) changes.push({key: e.key, current, next})
  }
  const out: FileChange[] = []
  for (const [dest, rel] of Object.entries(SOURCE_OF)) {
    const content = files.find((f) => f.path === rel)!.content
    const path = join(root, dest)
    if (!existsSync(path)) out.push({dest, action: 'create', diff: []})
    else {
      const old = readFileSync(path, 'utf8')
      out.push({dest, action: old === content ? 'unchanged' : 'replace', diff: old === content ? [] : lineDiff(old, content)})
    }
  }
  return {changes, skipped, files: out}
}

export interface ApplyOptions {
  tier: Tier
  devices?: number
  nodes?: number
  installDir?: string
  user?: string
  /** A copy of / (tests); default "/", which needs root. */
  root?: string
  /** Effective uid; default process.getuid(). */
  uid?: number
  /** Shown the plan, returns true to go ahead. */
  confirm: (plan: ApplyPlan) => Promise<boolean>
}

export interface ApplyResult {
  plan: ApplyPlan
  applied: boolean
  /** apply.sh's output (backup directory, each key set or kept, verification). */
  output: string
  exitCode: number
  /** Where the scripts were written (kept: "sudo <dir>/apply.sh restore" undoes). */
  scriptDir?: string
  after?: CheckResult
}

export function requireRoot(root: string, uid: number | undefined): void {
  if (root === '/' && uid !== 0) {
    throw new TuneError('tune --apply changes kernel settings and files under /etc and must run as root (sudo mqttctl tune --apply ...); nothing was changed')
  }
}

export async function applyLinux(options: ApplyOptions): Promise<ApplyResult> {
  const root = options.root ?? '/'
  requireRoot(root, options.uid ?? process.getuid?.())
  const files = renderTuneFiles({os: 'linux', tier: options.tier, devices: options.devices, nodes: options.nodes, installDir: options.installDir, user: options.user})
  const plan = planApply(options.tier, files, root)
  if (!(await options.confirm(plan))) return {plan, applied: false, output: '', exitCode: 0}

  const scriptDir = join(root, SCRIPT_DIR)
  rmSync(scriptDir, {recursive: true, force: true})
  writeTuneFiles(files, scriptDir)
  const env = root === '/' ? {} : {MQTT_TUNE_ROOT: root}
  const run = await execa('bash', [join(scriptDir, 'apply.sh'), 'apply'], {env, reject: false, all: true})
  return {plan, applied: true, output: run.all ?? '', exitCode: run.exitCode ?? 1, scriptDir, after: checkLinux({tier: options.tier, root})}
}
