import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {type Explanation, explainPlan} from '../src/sizing/explain.js'
import {
  DEVICES,
  InputError,
  allowed,
  type MeasuredProfile,
  type Plan as PlanResult,
  type PlanInput,
  defaultProfilePath,
  loadProfile,
  nextSteps,
  parseDevices,
  parseWorkloadFlag,
  plan,
  tierByName,
} from '../src/sizing/index.js'
import {askWorkload} from '../src/sizing/prompt.js'
import {renderExplanations, renderPlan} from '../src/sizing/report.js'
import {writeTierConfig} from '../src/sizing/write.js'

export type PlanJson = PlanResult & {explain?: Explanation[]}

/** Workload flags → PlanInput keys. Each is parsed by src/sizing so messages and limits live there. */
const WORKLOAD_FLAGS = {active: 'active', 'msg-rate': 'msgRate', payload: 'payload', qos: 'qos', 'subs-per-device': 'subsPerDevice', retained: 'retained'} as const

export default class Plan extends BaseCommand {
  static summary = 'Size a broker for a fleet: tier, configuration, hardware, memory, CPU, OS limits'
  static description = `Picks the deployment guide's tier (small below 10,000 devices, medium below 100,000, large below 1,000,000; from 1,000,000, several large nodes of at most 800,000 devices each, 80 % of MAX_CONNECTIONS) and estimates one node's memory, CPU and broadcast time. Workload flags refine the estimate. With no --devices in a terminal, asks for the workload (Ctrl-C cancels, nothing written).`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> plan --devices 500000',
    '<%= config.bin %> plan -n 50k --active 20k --msg-rate 5000 --payload 512 --qos 1',
    '<%= config.bin %> plan -n 5000 --write mqttctl.json',
    '<%= config.bin %> plan -n 100000 --explain',
    '<%= config.bin %> plan -n 200000 --json',
  ]

  static flags = {
    devices: Flags.string({char: 'n', summary: 'Devices in the fleet: 1 to 100,000,000 (500000, 500_000, 500,000, 500k, 1M).'}),
    active: Flags.string({summary: 'Live connections at once (default: all devices).'}),
    'msg-rate': Flags.string({summary: 'Messages per second delivered to devices, fleet total (a broadcast to 100 counts 100); default: not known, the tier\'s queue figure is used.'}),
    payload: Flags.string({summary: 'Payload bytes per message (default 256).'}),
    qos: Flags.string({summary: 'QoS of the messages: 0, 1 or 2 (default 1).'}),
    'subs-per-device': Flags.string({summary: 'Subscriptions per device (default 1).'}),
    retained: Flags.string({summary: 'Retained messages stored (default 0).'}),
    profile: Flags.string({summary: 'Figures to use: guide (default) or measured (from `mqttctl bench calibrate`, shown next to the guide\'s).'}),
    explain: Flags.boolean({summary: 'Show where each figure comes from: table row, formula, guide section.'}),
    write: Flags.string({summary: 'Write the broker configuration for the tier to FILE (JSON, read by start and build).', helpValue: 'FILE'}),
    force: Flags.boolean({summary: 'With --write, overwrite an existing FILE.'}),
  }

  async run(): Promise<PlanJson> {
    const {flags} = (await this.parse(Plan)) as {flags: Record<string, string | boolean | undefined>}
    if (flags.force && flags.write === undefined) return this.fail('--force is only allowed with --write FILE (it overwrites FILE)')

    let input: PlanInput
    let measured: {profile: MeasuredProfile; path: string} | undefined
    try {
      input = await this.workload(flags)
      const profileName = (flags.profile as string | undefined) ?? 'guide'
      if (profileName !== 'guide' && profileName !== 'measured') throw new InputError(`--profile ${JSON.stringify(profileName)} is not allowed; allowed: guide or measured`)
      if (profileName === 'measured') {
        const path = defaultProfilePath()
        measured = {profile: loadProfile(path), path}
      }
    } catch (error) {
      // Ctrl-C in the prompt: nothing to plan, nothing written. (InputError, ProfileError: BaseCommand.)
      if ((error as Error).name === 'ExitPromptError') return this.fail('cancelled; nothing planned', 130)
      throw error
    }

    const result: PlanJson = plan(input, measured)

    const file = flags.write as string | undefined
    if (file !== undefined) {
      writeTierConfig(file, tierByName(result.tier), Boolean(flags.force))
      result.next = nextSteps(result.devices, file)
    }

    const explanations = flags.explain ? explainPlan(result) : undefined
    this.log(renderPlan(result))
    if (file !== undefined) this.log(`\nWrote the ${result.tier} tier's broker configuration to ${file}`)
    if (explanations) this.log(renderExplanations(explanations))
    return explanations ? {...result, explain: explanations} : result
  }

  /** One line on stderr (with --json: {"error": {message, exitCode}} on stdout, as every command) and the exit code. */
  protected fail(message: string, code = 2): never {
    return super.fail(message, code)
  }

  private async workload(flags: Record<string, string | boolean | undefined>): Promise<PlanInput> {
    const text = flags.devices as string | undefined
    if (text === undefined) {
      if (process.stdin.isTTY && process.stdout.isTTY && !this.jsonEnabled()) return askWorkload()
      throw new InputError(`--devices is missing and there is no terminal to ask in; ${allowed(DEVICES)}, e.g. --devices 50000`)
    }
    const input: PlanInput = {devices: parseDevices(text)}
    for (const [flag, key] of Object.entries(WORKLOAD_FLAGS)) {
      const value = flags[flag] as string | undefined
      if (value !== undefined) (input as unknown as Record<string, number>)[key] = parseWorkloadFlag(key, value)
    }
    return input
  }
}
