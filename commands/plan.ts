import {existsSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {type Explanation, explainPlan} from '../src/sizing/explain.js'
import {renderVerify} from '../src/bench/verify-report.js'
import {type VerifyResult, verifyPlan} from '../src/bench/verify.js'
import {
  DEVICES,
  InputError,
  type LoadedProfile,
  allowed,
  activeProfile,
  type Plan as PlanResult,
  type PlanInput,
  readRuntimeProfile,
  nextSteps,
  shippedLoaded,
  parseDevices,
  parseWorkloadFlag,
  plan,
  tierByName,
} from '../src/sizing/index.js'
import {askWorkload} from '../src/sizing/prompt.js'
import {renderExplanations, renderPlan} from '../src/sizing/report.js'
import {writeTierConfig} from '../src/sizing/write.js'
import {hostProfilePath, parseCount} from '../src/sizing/index.js'

export type PlanJson = PlanResult & {explain?: Explanation[]; verify?: Omit<VerifyResult, 'measurement' | 'profile'>}

/** Workload flags → PlanInput keys. Each is parsed by src/sizing so messages and limits live there. */
const WORKLOAD_FLAGS = {active: 'active', 'msg-rate': 'msgRate', payload: 'payload', qos: 'qos', 'subs-per-device': 'subsPerDevice', retained: 'retained'} as const

export default class Plan extends BaseCommand {
  static summary = 'Size a broker for a fleet: tier, configuration, hardware, memory, CPU, OS limits'
  static description = `Picks the deployment guide's tier (small below 10,000 devices, medium below 100,000, large below 1,000,000; from 1,000,000, several large nodes of at most 800,000 devices each, 80 % of MAX_CONNECTIONS) and estimates each node's memory, CPU and broadcast time twice, side by side: by the guide's model, and for the runtime mqttctl ships (one Node.js process, one core) from its runtime profile: the shipped one, or this host's once --verify has measured it. --write also sets the broker's V8 heap limit from the estimate. Workload flags refine the estimate. With no --devices in a terminal, asks for the workload (Ctrl-C cancels, nothing written).
--verify runs the plan's configuration on 127.0.0.1 with the plan's workload scaled to this host (at most 15,000 connections), prints predicted against measured for each figure, flags any off by more than 25 %, and saves the measurement as this host's runtime profile (bench calibrate is the same measurement at a fixed workload).`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> plan --devices 500000',
    '<%= config.bin %> plan -n 50k --active 20k --msg-rate 5000 --payload 512 --qos 1',
    '<%= config.bin %> plan -n 5000 --write mqttctl.json',
    '<%= config.bin %> plan -n 100000 --explain',
    '<%= config.bin %> plan -n 200000 --json',
    '<%= config.bin %> plan -n 10000 --verify',
  ]

  static flags = {
    devices: Flags.string({char: 'n', summary: 'Devices in the fleet: 1 to 100,000,000 (500000, 500_000, 500,000, 500k, 1M).'}),
    active: Flags.string({summary: 'Live connections at once (default: all devices).'}),
    'msg-rate': Flags.string({summary: 'Messages per second delivered to devices, fleet total (a broadcast to 100 counts 100); default: not known, the tier\'s queue figure is used.'}),
    payload: Flags.string({summary: 'Payload bytes per message (default 256).'}),
    qos: Flags.string({summary: 'QoS of the messages: 0, 1 or 2 (default 1).'}),
    'subs-per-device': Flags.string({summary: 'Subscriptions per device (default 1).'}),
    retained: Flags.string({summary: 'Retained messages stored (default 0).'}),
    profile: Flags.string({summary: 'Runtime profile: shipped, host (this host\'s, from --verify) or a FILE; default: host when it exists, else shipped.', helpValue: 'shipped|host|FILE'}),
    verify: Flags.boolean({summary: 'Run the plan\'s broker on 127.0.0.1, drive its workload scaled to this host, print predicted against measured, save this host\'s runtime profile.'}),
    'time-limit': Flags.string({summary: 'With --verify: stop after SECONDS (60 to 3,600; default 480).', helpValue: 'SECONDS'}),
    save: Flags.boolean({allowNo: true, summary: 'With --verify: save the measurement as this host\'s runtime profile (default; --no-save does not).'}),
    'cpu-seconds': Flags.string({hidden: true, description: 'with --verify: seconds each CPU step runs, its 1 s warm-up included, 2 to 60 (default 5; tests)'}),
    'settle-ms': Flags.string({hidden: true, description: 'with --verify: ms to let V8 settle after each storm, 100 to 60,000 (default 3,000; tests)'}),
    explain: Flags.boolean({summary: 'Show where each figure comes from: table row, formula, guide section.'}),
    write: Flags.string({summary: 'Write the broker configuration for the tier to FILE (JSON, read by start and build).', helpValue: 'FILE'}),
    force: Flags.boolean({summary: 'With --write, overwrite an existing FILE.'}),
  }

  async run(): Promise<PlanJson> {
    const {flags} = (await this.parse(Plan)) as {flags: Record<string, string | boolean | undefined>}
    if (flags.force && flags.write === undefined) return this.fail('--force is only allowed with --write FILE (it overwrites FILE)')
    if (!flags.verify && (flags['time-limit'] !== undefined || flags.save !== undefined)) return this.fail(`--${flags.save === undefined ? 'time-limit' : flags.save ? 'save' : 'no-save'} is only allowed with --verify`)
    const timeLimit = flags['time-limit'] === undefined ? undefined : parseCount(flags['time-limit'] as string, {name: '--time-limit', min: 60, max: 3_600, unit: 'seconds'})
    const cpuSeconds = flags['cpu-seconds'] === undefined ? undefined : parseCount(flags['cpu-seconds'] as string, {name: '--cpu-seconds', min: 2, max: 60, unit: 'seconds'})
    const settleMs = flags['settle-ms'] === undefined ? undefined : parseCount(flags['settle-ms'] as string, {name: '--settle-ms', min: 100, max: 60_000, unit: 'ms'})

    let input: PlanInput
    let profile: LoadedProfile
    try {
      input = await this.workload(flags)
      profile = this.profile(flags.profile as string | undefined)
    } catch (error) {
      // Ctrl-C in the prompt: nothing to plan, nothing written. (InputError, RuntimeProfileError: BaseCommand.)
      if ((error as Error).name === 'ExitPromptError') return this.fail('cancelled; nothing planned', 130)
      throw error
    }

    const result: PlanJson = plan(input, {profile})

    const file = flags.write as string | undefined
    // One node with workers: the configuration runs them (cluster.workers), each with its own share's heap limit.
    // Several nodes: build --nodes N --workers W writes each node's configuration with its NATS servers.
    const workers = result.nodes === 1 && result.topology.workersPerNode > 1 ? result.topology.workersPerNode : undefined
    const heap = workers === undefined ? result.runtime.heap : {...result.runtime.heap, maxOldSpaceMb: result.topology.worker.maxOldSpaceMb}
    if (file !== undefined) {
      writeTierConfig(file, tierByName(result.tier), Boolean(flags.force), heap, workers)
      result.next = nextSteps(result.devices, file, result.topology)
    }

    const explanations = flags.explain ? explainPlan(result) : undefined
    this.log(renderPlan(result))
    if (file !== undefined) this.log(`\nWrote the ${result.tier} tier's broker configuration to ${file} (${workers === undefined ? '' : `${workers} workers, each with a `}V8 heap limit ${heap.maxOldSpaceMb} MB)`)
    if (explanations) this.log(renderExplanations(explanations))
    let verify: PlanJson['verify']
    if (flags.verify) {
      const say = (line: string) => !this.jsonEnabled() && process.stderr.write(`${line}\n`)
      const argv = process.argv.slice(2).join(' ')
      const v = await verifyPlan(result, profile.profile, {log: say, profilePath: flags.save === false ? null : undefined, timeLimitMs: timeLimit === undefined ? undefined : timeLimit * 1000, cpuSeconds, settleMs, command: `mqttctl ${argv || `plan --devices ${result.devices} --verify`}`})
      this.log(renderVerify(v))
      const {measurement: _m, profile: _p, ...rest} = v
      verify = rest
    }
    const out: PlanJson = {...result}
    if (explanations) out.explain = explanations
    if (verify) out.verify = verify
    return out
  }

  /** --profile shipped | host | FILE; default: this host's when it exists, else the shipped one. */
  private profile(name: string | undefined): LoadedProfile {
    if (name === undefined) return activeProfile()
    if (name === 'shipped') return shippedLoaded()
    const path = name === 'host' ? hostProfilePath() : name
    if (name !== 'host' && !existsSync(path)) throw new InputError(`--profile ${JSON.stringify(name)} is not allowed: no such file; allowed: shipped, host or a runtime profile FILE`)
    return {profile: readRuntimeProfile(path), path}
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
