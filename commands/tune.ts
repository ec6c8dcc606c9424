import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {confirm} from '@inquirer/prompts'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {InputError} from '../src/sizing/index.js'
import {renderTuneFiles, TUNE_OSES, type TuneOs} from '../src/tune/index.js'
import {applyLinux, type ApplyOptions, type ApplyResult, TuneError} from '../src/tune/apply.js'
import {checkLinux, type CheckResult} from '../src/tune/check.js'
import {renderApplyPlan, renderCheck} from '../src/tune/report.js'
import {currentOs, resolveTarget} from '../src/tune/target.js'

export type TuneResult =
  | {mode: 'render'; os: TuneOs; tier: string; devices: number | null; nodes: number; files: Array<{path: string; description: string; written?: string; content?: string}>}
  | ({mode: 'check'} & CheckResult)
  | ({mode: 'apply'} & ApplyResult)

export default class Tune extends BaseCommand {
  static summary = 'Generate OS tuning files for a tier (sysctl, limits, systemd, PowerShell, LaunchDaemon), check or apply them'
  static description = `Writes the files to stdout, or one file each under --out DIR. --check compares this Linux machine with the recommendation (exit 1 when anything is short); --apply (root) shows the changes, asks, backs up, applies and verifies.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> tune --os linux --devices 250k --out ./tune',
    '<%= config.bin %> tune --os windows --tier medium',
    '<%= config.bin %> tune --check --devices 50000',
    'sudo <%= config.bin %> tune --apply --devices 50000',
  ]

  static flags = {
    os: Flags.string({description: `target OS: ${TUNE_OSES.join(', ')} (default: this machine's)`, helpValue: 'OS'}),
    devices: Flags.string({char: 'n', description: 'devices the broker serves (500000, 500k, 1M); picks the tier', helpValue: 'N'}),
    tier: Flags.string({description: 'small, medium or large, instead of --devices', helpValue: 'TIER'}),
    out: Flags.string({char: 'o', description: 'write one file each under DIR instead of stdout', helpValue: 'DIR'}),
    'install-dir': Flags.string({description: 'where build installs the broker (systemd unit paths)', default: '/opt/mqtt-broker', helpValue: 'DIR'}),
    user: Flags.string({description: 'service account of the systemd unit', default: 'mqtt-broker'}),
    check: Flags.boolean({description: 'Linux: compare the running system with the recommendation; exit 1 when anything is short'}),
    apply: Flags.boolean({description: 'Linux, as root: show the changes, confirm, back up, apply, verify'}),
    yes: Flags.boolean({char: 'y', description: 'with --apply: do not ask for confirmation'}),
    root: Flags.string({hidden: true, description: 'a copy of / to read and change instead of this machine (tests)'}),
  }

  async run(): Promise<TuneResult> {
    const {flags} = await this.parse(Tune)
    const os = this.pickOs(flags.os, flags.check || flags.apply)
    let target
    try {
      target = resolveTarget({devices: flags.devices, tier: flags.tier})
    } catch (error) {
      if (error instanceof InputError) return this.fail(error.message, 2)
      throw error
    }
    if ([flags.check, flags.apply, flags.out !== undefined].filter(Boolean).length > 1) this.fail('--check, --apply and --out are not allowed together; give one of them', 2)
    if (flags.yes && !flags.apply) this.fail('--yes is only allowed with --apply', 2)
    if (!this.jsonEnabled()) for (const note of target.notes) process.stderr.write(`${note}\n`)
    const root = flags.root ? resolve(flags.root) : undefined

    if (flags.check) {
      const result = checkLinux({tier: target.tier, root})
      const out: TuneResult = {mode: 'check', ...result}
      if (!this.jsonEnabled()) this.log(renderCheck(result))
      if (result.ok) return out
      if (this.jsonEnabled()) this.logJson(out)
      return this.exit(1)
    }

    const common = {tier: target.tier, devices: target.devices, nodes: target.nodes, installDir: flags['install-dir'], user: flags.user}
    if (flags.apply) return this.apply(common, root, flags.yes)

    let files
    try {
      files = renderTuneFiles({os, ...common})
    } catch (error) {
      return this.fail((error as Error).message, 2)
    }
    const result: TuneResult = {mode: 'render', os, tier: target.tier.name, devices: target.devices ?? null, nodes: target.nodes, files: []}
    if (flags.out) {
      const dir = resolve(flags.out)
      for (const f of files) {
        const path = join(dir, f.path)
        mkdirSync(dirname(path), {recursive: true})
        writeFileSync(path, f.content)
        chmodSync(path, f.mode ?? 0o644)
        result.files.push({path: f.path, description: f.description, written: path})
        if (!this.jsonEnabled()) this.log(`wrote ${path}  (${f.description})`)
      }
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
    if (!yes && !process.stdin.isTTY) this.fail('--apply asks for confirmation on a terminal; pass --yes to apply without asking', 2)
    let result: ApplyResult
    try {
      result = await applyLinux({
        ...common,
        root,
        confirm: async (plan) => {
          if (!this.jsonEnabled()) this.log(renderApplyPlan(plan))
          return yes || confirm({message: 'Back up the current values and apply these changes?', default: false})
        },
      })
    } catch (error) {
      if (error instanceof TuneError) return this.fail(error.message, 1)
      throw error
    }
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
