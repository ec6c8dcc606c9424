import {resolve} from 'node:path'
import {confirm} from '@inquirer/prompts'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {DEFAULT_INSTALL_DIR, DEFAULT_USER, renderTuneFiles, TUNE_OSES, type TuneFile, type TuneOs} from '../src/tune/index.js'
import {applyLinux, type ApplyOptions, type ApplyResult} from '../src/tune/apply.js'
import {checkLinux, type CheckResult} from '../src/tune/check.js'
import {renderApplyPlan, renderCheck} from '../src/tune/report.js'
import {currentOs} from '../src/tune/target.js'
import {resolveNodesTarget} from '../src/tune/cluster.js'
import {writeTuneFiles} from '../src/tune/write.js'
import {TIER_NAMES} from '../src/sizing/tiers.js'

export type TuneResult =
  | {mode: 'render'; os: TuneOs; tier: string; devices: number | null; nodes: number; files: Array<{path: string; description: string; written?: string; content?: string}>}
  | ({mode: 'check'} & CheckResult)
  | ({mode: 'apply'} & ApplyResult)

export default class Tune extends BaseCommand {
  static summary = 'Write, check or apply the OS tuning (sysctl, limits, systemd, ...) for a tier'
  static description = `Generates the OS tuning files for the tier --devices picks (or --tier; default: the small tier): on Linux sysctl.d, limits.d, a systemd unit and apply.sh; on Windows PowerShell scripts; on macOS a LaunchDaemon. Writes them to stdout, or one file each under --out DIR. --check compares this Linux machine with the recommendation (exit 1 when anything is short); --apply (root) shows the changes, asks, backs up, applies and verifies. For 1,000,000 devices or more the files are for each node of the plan.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> tune --os linux --devices 250k --out ./tune',
    '<%= config.bin %> tune --os windows --tier medium',
    '<%= config.bin %> tune --os linux --devices 3M --nodes 5 --out ./tune',
    '<%= config.bin %> tune --check --devices 50000',
    'sudo <%= config.bin %> tune --apply --devices 50000',
  ]

  static flags = {
    os: Flags.string({options: [...TUNE_OSES], description: `target OS: ${TUNE_OSES.join(', ')} (default: this machine's)`, helpValue: 'OS'}),
    devices: Flags.string({char: 'n', exclusive: ['tier'], description: 'devices the broker serves (500000, 500k, 1M); picks the tier as plan does (default: the small tier)', helpValue: 'N'}),
    tier: Flags.string({exclusive: ['devices'], options: [...TIER_NAMES], description: 'small, medium or large, instead of --devices (default: small)', helpValue: 'TIER'}),
    nodes: Flags.string({description: 'broker nodes the --devices are spread over (build --nodes): the files are for each node\'s share (default: the plan\'s, 1 below 1,000,000 devices)', helpValue: 'N'}),
    out: Flags.string({char: 'o', exclusive: ['check', 'apply'], description: 'write one file each under DIR instead of stdout', helpValue: 'DIR'}),
    'install-dir': Flags.string({description: `Linux: where build installs the broker, for the systemd unit's paths (default: ${DEFAULT_INSTALL_DIR})`, helpValue: 'DIR'}),
    user: Flags.string({description: `Linux: service account of the systemd unit (default: ${DEFAULT_USER})`, helpValue: 'NAME'}),
    check: Flags.boolean({exclusive: ['apply', 'out'], description: 'Linux: compare the running system with the recommendation; exit 1 when anything is short'}),
    apply: Flags.boolean({exclusive: ['check', 'out'], description: 'Linux, as root: show the changes, confirm, back up, apply, verify'}),
    yes: Flags.boolean({char: 'y', dependsOn: ['apply'], description: 'with --apply: do not ask for confirmation'}),
    root: Flags.string({hidden: true, description: 'a copy of / to read and change instead of this machine (tests)'}),
  }

  async run(): Promise<TuneResult> {
    const {flags} = await this.parse(Tune)
    const os = this.pickOs(flags.os, flags.check || flags.apply)
    for (const name of ['install-dir', 'user'] as const) {
      if (flags[name] !== undefined && (os !== 'linux' || flags.check)) this.fail(`--${name} is only allowed for the Linux files (--os linux, --out or --apply); the ${flags.check ? '--check' : `${os}`} output has no systemd unit`, 2)
    }
    const target = resolveNodesTarget({devices: flags.devices, tier: flags.tier, nodes: flags.nodes})
    if ([flags.check, flags.apply, flags.out !== undefined].filter(Boolean).length > 1) this.fail('--check, --apply and --out are not allowed together; give one of them', 2)
    if (flags.yes && !flags.apply) this.fail('--yes is only allowed with --apply', 2)
    const root = flags.root ? resolve(flags.root) : undefined
    const notes = () => {
      if (!this.jsonEnabled()) for (const note of target.notes) process.stderr.write(`${note}\n`)
    }

    if (flags.check) {
      notes()
      const result = checkLinux({tier: target.tier, root})
      const out: TuneResult = {mode: 'check', ...result}
      if (!this.jsonEnabled()) this.log(renderCheck(result))
      if (result.ok) return out
      if (this.jsonEnabled()) this.logJson(out)
      return this.exit(1)
    }

    const common = {tier: target.tier, devices: target.devices, nodes: target.nodes, installDir: flags['install-dir'] ?? DEFAULT_INSTALL_DIR, user: flags.user ?? DEFAULT_USER}
    let files: TuneFile[]
    try {
      files = renderTuneFiles({os, ...common})
    } catch (error) {
      return this.fail((error as Error).message, 2)
    }
    if (flags.apply && !flags.yes && !process.stdin.isTTY) this.fail('--apply asks for confirmation on a terminal; pass --yes to apply without asking', 2)
    notes()
    if (flags.apply) return this.apply(common, root, flags.yes)

    const result: TuneResult = {mode: 'render', os, tier: target.tier.name, devices: target.devices ?? null, nodes: target.nodes, files: []}
    if (flags.out) {
      writeTuneFiles(files, resolve(flags.out), (f, path) => {
        result.files.push({path: f.path, description: f.description, written: path})
        if (!this.jsonEnabled()) this.log(`wrote ${path}  (${f.description})`)
      })
    } else {
      for (const f of files) {
        result.files.push({path: f.path, description: f.description, content: f.content})
        if (!this.jsonEnabled()) this.log(`==> ${f.path} <==\n${f.content}`)
      }
    }
    return result
  }

  private pickOs(flag: string | undefined, linuxOnly: boolean): TuneOs {
    if (flag !== undefined && !TUNE_OSES.includes(flag as TuneOs)) this.fail(`--os ${JSON.stringify(flag)} is not allowed; allowed: ${TUNE_OSES.join(', ')}`, 2)
    const os = (flag as TuneOs | undefined) ?? currentOs()
    if (!os) this.fail(`tune has no files for this platform (${process.platform}); give --os ${TUNE_OSES.join('|')}`, 2)
    if (linuxOnly && os !== 'linux') this.fail(`--check and --apply read and change a Linux system; not allowed with --os ${os}`, 2)
    return os
  }

  private async apply(common: Omit<ApplyOptions, 'confirm' | 'root' | 'uid'>, root: string | undefined, yes: boolean): Promise<TuneResult> {
    const result = await applyLinux({
      ...common,
      root,
      confirm: async (plan) => {
        if (!this.jsonEnabled()) this.log(renderApplyPlan(plan))
        return yes || confirm({message: 'Back up the current values and apply these changes?', default: false})
      },
    })
    if (!this.jsonEnabled()) {
      if (!result.applied) this.log('Nothing changed.')
      else {
        this.log(result.output.trimEnd())
        this.log(`\nScripts kept in ${result.scriptDir}; undo with: sudo ${result.scriptDir}/apply.sh restore`)
      }
    }
    const out: TuneResult = {mode: 'apply', ...result}
    if (result.exitCode === 0) return out
    if (this.jsonEnabled()) this.logJson(out)
    return this.exit(1)
  }
}
