/**
 * `mqttctl bench <mode>`: the flags of every bench subcommand (commands/bench/*.ts) and the command
 * class the six load modes share. Each subcommand declares only the flags that apply to it, so oclif's
 * own parser refuses the others; this base turns that refusal into the line that says which modes the
 * flag is for.
 */
import {Flags, type Interfaces} from '@oclif/core'
import {type BenchResult, MODES, normalize, runBench, type BenchMode} from '../bench/index.js'
import {DEFAULTS, optionsFromFlags} from '../bench/options.js'
import {progressLine, summary} from '../bench/render.js'
import {BaseCommand} from './base-command.js'

export const BENCH_EXIT = {ok: 0, failed: 1, usage: 2} as const

/** Everything `mqttctl bench` runs: the six load modes, the suite and the calibration. */
export const BENCH_COMMANDS = [...MODES, 'suite', 'calibrate'] as const
export type BenchCommandName = (typeof BENCH_COMMANDS)[number]

const PUBLISHING: readonly BenchMode[] = ['pub', 'pubsub', 'fanout', 'latency']

/** Every bench flag, with the commands it applies to. */
const FLAGS = {
  host: {for: MODES, flag: Flags.string({helpValue: 'HOST', description: 'broker host (loopback only unless --allow-remote)', default: DEFAULTS.host})},
  port: {for: MODES, flag: Flags.integer({char: 'p', helpValue: 'PORT', description: 'broker port', default: DEFAULTS.port, min: 1, max: 65_535})},
  url: {for: MODES, flag: Flags.string({helpValue: 'URL', description: 'mqtt://[user:pass@]host:port or mqtts://… (overrides --host/--port)'})},
  clients: {for: MODES, flag: Flags.integer({char: 'c', helpValue: 'N', description: `connections (conn), publishers (pub, pubsub, latency) or subscribers (sub, fanout) (default ${DEFAULTS.clients}; latency 1, fanout 100)`, min: 1})},
  subscribers: {for: ['pubsub', 'latency'], flag: Flags.integer({helpValue: 'N', description: 'pubsub/latency: subscribers (default: one per publisher)', min: 0})},
  topic: {for: MODES, flag: Flags.string({char: 't', helpValue: 'TOPIC', description: `topic, %i = client index (default ${DEFAULTS.topic}; latency bench/lat/%i, fanout bench/fanout)`})},
  'sub-topic': {for: ['sub', 'pubsub', 'latency', 'fanout'], flag: Flags.string({helpValue: 'FILTER', description: 'subscription filter (default: --topic)'})},
  'client-id': {for: MODES, flag: Flags.string({helpValue: 'PREFIX', description: 'client id prefix, %i = client index (default bench-<pid>-%i)'})},
  size: {for: PUBLISHING, flag: Flags.integer({char: 's', helpValue: 'BYTES', description: `payload bytes, ≥ 12: timestamp and sequence number (default ${DEFAULTS.size})`, min: 12})},
  qos: {for: MODES, flag: Flags.integer({char: 'q', description: `QoS of publishes and subscriptions (default ${DEFAULTS.qos})`, options: ['0', '1', '2'] as never})},
  retain: {for: PUBLISHING, flag: Flags.boolean({description: 'publish with the retain flag'})},
  protocol: {for: MODES, flag: Flags.integer({char: 'V', description: 'MQTT version: 3 (3.1), 4 (3.1.1), 5 (default 4)', options: ['3', '4', '5'] as never})},
  rate: {for: ['conn', ...PUBLISHING], flag: Flags.integer({char: 'r', helpValue: 'N', description: 'messages per second over all publishers (conn: connections per second); 0 = as fast as the window allows (default 0; latency 5000)', min: 0})},
  interval: {for: PUBLISHING, flag: Flags.integer({char: 'i', helpValue: 'MS', description: 'ms between messages of one publisher, or between fanout broadcasts; 0 = back to back (default 0; fanout 100)', min: 0})},
  duration: {for: MODES, flag: Flags.integer({char: 'd', helpValue: 'SECONDS', description: `seconds to run; 0 = until --count (default ${DEFAULTS.duration})`, min: 0})},
  count: {for: ['sub', ...PUBLISHING], flag: Flags.integer({char: 'n', helpValue: 'N', description: 'messages (or broadcasts) in total, then stop; 0 = until --duration (default 0)', min: 0})},
  warmup: {for: ['sub', ...PUBLISHING], flag: Flags.integer({helpValue: 'SECONDS', description: 'seconds excluded from rates and latency at the start (default 0)', min: 0})},
  window: {for: PUBLISHING, flag: Flags.integer({helpValue: 'N', description: `max messages in flight from publishers to subscribers of this process; 0 = open loop (default ${DEFAULTS.window})`, min: 0})},
  inflight: {for: PUBLISHING, flag: Flags.integer({helpValue: 'N', description: `QoS 1/2: unacknowledged messages per publisher (default ${DEFAULTS.inflight})`, min: 1, max: 65_000})},
  batch: {for: PUBLISHING, flag: Flags.integer({helpValue: 'N', description: `messages per socket write (default ${DEFAULTS.batch})`, min: 1, max: 4096})},
  'connect-rate': {for: MODES, flag: Flags.integer({helpValue: 'N', description: 'connections per second while connecting; 0 = as fast as possible (default 0)', min: 0})},
  'connect-concurrency': {for: MODES, flag: Flags.integer({helpValue: 'N', description: `connection attempts at once (default ${DEFAULTS.connectConcurrency})`, min: 1})},
  keepalive: {for: MODES, flag: Flags.integer({helpValue: 'SECONDS', description: `keep-alive seconds (default ${DEFAULTS.keepalive})`, min: 0, max: 65_535})},
  ifaddr: {for: MODES, flag: Flags.string({helpValue: 'ADDR,…', description: 'source addresses, comma separated, used round robin (past ~60,000 connections per target)'})},
  subscribe: {for: ['conn'], flag: Flags.boolean({description: 'conn: subscribe each connection to --topic'})},
  probe: {for: ['fanout'], flag: Flags.boolean({description: 'fanout: an unrelated client pair measures the longest stall meanwhile'})},
  workers: {for: MODES, flag: Flags.integer({char: 'w', helpValue: 'N', description: 'generator processes (default 1)', min: 1, max: 64})},
  username: {for: MODES, flag: Flags.string({char: 'u', helpValue: 'NAME', description: 'username'})},
  password: {for: MODES, flag: Flags.string({char: 'P', helpValue: 'SECRET', description: 'password'})},
  tls: {for: MODES, flag: Flags.boolean({description: 'connect with TLS'})},
  ca: {for: MODES, flag: Flags.string({helpValue: 'FILE', description: 'TLS: CA certificate file'})},
  cert: {for: MODES, flag: Flags.string({helpValue: 'FILE', description: 'TLS: client certificate file'})},
  key: {for: MODES, flag: Flags.string({helpValue: 'FILE', description: 'TLS: client key file'})},
  insecure: {for: MODES, flag: Flags.boolean({description: 'TLS: do not verify the broker certificate'})},
  'allow-remote': {for: MODES, flag: Flags.boolean({description: 'allow a target outside loopback (never load a broker you do not own)'})},
  'broker-pid': {for: MODES, flag: Flags.integer({helpValue: 'PID', description: 'sample this broker process (CPU, RSS) during the run', min: 1})},
  rounds: {for: ['suite'], flag: Flags.integer({helpValue: 'N', description: 'suite: rounds of A B', min: 1, default: 3})},
  quick: {for: ['suite'], flag: Flags.boolean({description: 'suite: small and short (a smoke run, not a measurement)'})},
  only: {for: ['suite'], flag: Flags.string({helpValue: 'IDS', description: 'suite: comma-separated scenario ids'})},
  out: {for: ['suite'], flag: Flags.string({helpValue: 'DIR', description: 'suite: directory for RESULTS.md and results.json (default: bench/)'})},
  'mosquitto-only': {for: ['suite'], flag: Flags.boolean({description: 'suite: measure Mosquitto alone'})},
  'broker-workers': {for: ['suite'], flag: Flags.integer({helpValue: 'N', description: 'suite: `--workers N` of the scale-out scenario, measured against --workers 1 (more on hosts with more cores)', min: 2, max: 64, default: 2})},
  profile: {for: ['calibrate'], flag: Flags.string({helpValue: 'FILE', description: 'calibrate: profile file to write (default: ~/.config/mqttctl/runtime-profile.json, or $MQTTCTL_PROFILE)'})},
  connections: {for: ['calibrate'], flag: Flags.integer({helpValue: 'N', description: 'calibrate: idle connections for the memory figures', min: 10, default: 5000})},
} satisfies Record<string, {for: readonly BenchCommandName[]; flag: Interfaces.Flag<any>}>

type FlagName = keyof typeof FLAGS
type FlagsFor<C extends BenchCommandName> = {[K in FlagName as C extends (typeof FLAGS)[K]['for'][number] ? K : never]: (typeof FLAGS)[K]['flag']}

/** The flags of one bench command, in the order of the table above. */
export function benchFlags<C extends BenchCommandName>(command: C): FlagsFor<C> {
  return Object.fromEntries(
    Object.entries(FLAGS)
      .filter(([, f]) => (f.for as readonly string[]).includes(command))
      .map(([name, f]) => [name, f.flag]),
  ) as FlagsFor<C>
}

/** The line for a flag given to a bench command it does not apply to (oclif refused it as nonexistent). */
export function inapplicable(command: BenchCommandName, given: string): string | undefined {
  const name = given.startsWith('--') ? given.slice(2).split('=')[0] : Object.entries(FLAGS).find(([, f]) => 'char' in f.flag && `-${f.flag.char}` === given)?.[0]
  const spec = name === undefined ? undefined : (FLAGS as Record<string, {for: readonly string[]}>)[name]
  if (!spec || spec.for.includes(command)) return undefined
  return `--${name} does not apply to bench ${command}; it is for ${spec.for.join(', ')}`
}

/** A bench command: a flag that belongs to another bench command gets a line naming the commands it is for. */
export abstract class BenchCommand extends BaseCommand {
  static enableJsonFlag = true

  /** Which bench command this is (its file name under commands/bench/). */
  static command: BenchCommandName

  protected say(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${line}\n`)
  }

  protected async catch(err: Error & {exitCode?: number; flags?: string[]}): Promise<unknown> {
    const command = (this.constructor as typeof BenchCommand).command
    // oclif's NonExistentFlagsError: `flags` lists what it did not know, as typed (--probe, -c).
    const line = /^Nonexistent flags?:/.test(err.message) && Array.isArray(err.flags) ? inapplicable(command, err.flags[0] ?? '') : undefined
    if (line) return this.fail(line, BENCH_EXIT.usage)
    return super.catch(err)
  }
}

/** conn, pub, sub, pubsub, fanout and latency: one load run against a broker. */
export abstract class BenchLoadCommand extends BenchCommand {
  static command: BenchMode

  static description = `A built-in load generator on raw sockets with pre-encoded packets. Every run stops by itself (--duration or --count) and only targets loopback unless --allow-remote is given. Topics and client ids take %i (the client index). At the end it prints msgs/s sent and received, latency percentiles (timestamp in the payload), connect rate, errors and its own CPU. "sent" counts messages written to the socket: a run that ends mid-stream leaves a few in flight that the broker never counts.

Exit codes: 0 ok, 1 connections failed or messages lost, 2 bad flag or refused target.`

  async run(): Promise<BenchResult> {
    const ctor = this.constructor as typeof BenchLoadCommand
    const {flags} = await this.parse(ctor)
    const mode = ctor.command
    const o = normalize(mode, optionsFromFlags(mode, flags))
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    const line = progressLine()
    // One terminal row, rewritten in place: a longer line would wrap and \r would scroll the screen.
    const fit = (text: string) => text.slice(0, Math.max(20, (process.stderr.columns || 80) - 1))
    const result = await runBench(o, {progress: tty ? (p) => process.stderr.write(`\r${fit(line(p))}\u001B[K`) : undefined})
    if (tty) process.stderr.write('\n')
    if (!this.jsonEnabled()) this.log(summary(result))
    if (result.connect.failed > 0 || result.messages.lost > 0 || result.connect.connected === 0) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(BENCH_EXIT.failed)
    }
    return result
  }
}
