import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {calibrate} from '../src/bench/calibrate.js'
import {MODES, normalize, runBench, type BenchMode} from '../src/bench/index.js'
import {DEFAULTS, optionsFromFlags} from '../src/bench/options.js'
import {progressLine, summary} from '../src/bench/render.js'
import {runSuite} from '../src/bench/suite/index.js'
import {renderMarkdown, verdicts} from '../src/bench/suite/report.js'

const EXIT = {ok: 0, failed: 1, usage: 2}

const LOAD: readonly string[] = MODES
const PUBLISHING = ['pub', 'pubsub', 'fanout', 'latency']
/**
 * Flags that only some modes use; any other flag applies to every load mode (conn … latency).
 * suite and calibrate run their own brokers and loads, so they take only their own flags.
 */
const ONLY: Record<string, readonly string[]> = {
  subscribers: ['pubsub', 'latency'],
  'sub-topic': ['sub', 'pubsub', 'latency', 'fanout'],
  subscribe: ['conn'],
  probe: ['fanout'],
  size: PUBLISHING,
  retain: PUBLISHING,
  rate: ['conn', ...PUBLISHING],
  interval: PUBLISHING,
  count: ['sub', ...PUBLISHING],
  warmup: ['sub', ...PUBLISHING],
  window: PUBLISHING,
  inflight: PUBLISHING,
  batch: PUBLISHING,
  rounds: ['suite'],
  quick: ['suite'],
  only: ['suite'],
  out: ['suite'],
  'mosquitto-only': ['suite'],
  profile: ['calibrate'],
  connections: ['calibrate'],
}

/** Why a given flag does not apply to this mode (one line), or undefined. */
export function inapplicable(mode: string, given: readonly string[]): string | undefined {
  for (const flag of given) {
    if (flag === 'json') continue
    const modes = ONLY[flag] ?? LOAD
    if (!modes.includes(mode)) return `--${flag} does not apply to bench ${mode}; it is for ${modes.join(', ')}`
  }
  return undefined
}

export default class Bench extends BaseCommand {
  static summary = 'Load-test an MQTT broker, run the performance suite, or calibrate sizing'

  static description = `A built-in load generator on raw sockets with pre-encoded packets. Every run stops by itself (--duration or --count) and only targets loopback unless --allow-remote is given. Topics and client ids take %i (the client index). At the end it prints msgs/s sent and received, latency percentiles (timestamp in the payload), connect rate, errors and its own CPU. "sent" counts messages written to the socket: a run that ends mid-stream leaves a few in flight that the broker never counts.

Modes: conn (hold connections), pub (publishers only), sub (subscribers only: -c subscribers), pubsub (publishers and subscribers), fanout (one publisher, -c subscribers on one topic), latency (a paced pubsub). A flag that does not apply to the mode is refused.
  suite      our broker vs Mosquitto side by side, writes bench/RESULTS.md (what \`npm run bench\` runs)
  calibrate  measures our broker on this host and stores the profile \`plan --profile measured\` reads

Exit codes: 0 ok, 1 connections failed or messages lost, 2 bad flag or refused target.`

  static examples = [
    '<%= config.bin %> bench pub -p 1884 -c 10 --duration 10',
    '<%= config.bin %> bench conn -c 10000 --duration 30',
    '<%= config.bin %> bench pubsub -c 100 --subscribers 1 -t "bench/%i" --sub-topic "bench/#" --duration 10',
    '<%= config.bin %> bench latency --rate 5000 --json',
    '<%= config.bin %> bench fanout -c 15000 --interval 1000 --count 5 --probe --ifaddr 127.0.0.2,127.0.0.3',
    '<%= config.bin %> bench suite --quick',
  ]

  static enableJsonFlag = true

  static args = {
    mode: Args.string({description: 'what to run', required: true, options: [...MODES, 'suite', 'calibrate']}),
  }

  static flags = {
    host: Flags.string({helpValue: 'HOST', description: 'broker host (loopback only unless --allow-remote)', default: DEFAULTS.host}),
    port: Flags.integer({char: 'p', helpValue: 'PORT', description: 'broker port', default: DEFAULTS.port, min: 1, max: 65_535}),
    url: Flags.string({helpValue: 'URL', description: 'mqtt://[user:pass@]host:port or mqtts://… (overrides --host/--port)'}),
    clients: Flags.integer({char: 'c', helpValue: 'N', description: `connections (conn), publishers (pub, pubsub, latency) or subscribers (sub, fanout) (default ${DEFAULTS.clients}; latency 1, fanout 100)`, min: 1}),
    subscribers: Flags.integer({helpValue: 'N', description: 'pubsub/latency: subscribers (default: one per publisher)', min: 0}),
    topic: Flags.string({char: 't', helpValue: 'TOPIC', description: `topic, %i = client index (default ${DEFAULTS.topic}; latency bench/lat/%i, fanout bench/fanout)`}),
    'sub-topic': Flags.string({helpValue: 'FILTER', description: 'subscription filter (default: --topic)'}),
    'client-id': Flags.string({helpValue: 'PREFIX', description: 'client id prefix, %i = client index (default bench-<pid>-%i)'}),
    size: Flags.integer({char: 's', helpValue: 'BYTES', description: `payload bytes, ≥ 12: timestamp and sequence number (default ${DEFAULTS.size})`, min: 12}),
    qos: Flags.integer({char: 'q', description: `QoS of publishes and subscriptions (default ${DEFAULTS.qos})`, options: ['0', '1', '2'] as never}),
    retain: Flags.boolean({description: 'publish with the retain flag'}),
    protocol: Flags.integer({char: 'V', description: 'MQTT version: 3 (3.1), 4 (3.1.1), 5 (default 4)', options: ['3', '4', '5'] as never}),
    rate: Flags.integer({char: 'r', helpValue: 'N', description: 'messages per second over all publishers (conn: connections per second); 0 = as fast as the window allows (default 0; latency 5000)', min: 0}),
    interval: Flags.integer({char: 'i', helpValue: 'MS', description: 'ms between messages of one publisher, or between fanout broadcasts; 0 = back to back (default 0; fanout 100)', min: 0}),
    duration: Flags.integer({char: 'd', helpValue: 'SECONDS', description: `seconds to run; 0 = until --count (default ${DEFAULTS.duration})`, min: 0}),
    count: Flags.integer({char: 'n', helpValue: 'N', description: 'messages (or broadcasts) in total, then stop; 0 = until --duration (default 0)', min: 0}),
    warmup: Flags.integer({helpValue: 'SECONDS', description: 'seconds excluded from rates and latency at the start (default 0)', min: 0}),
    window: Flags.integer({helpValue: 'N', description: `max messages in flight from publishers to subscribers of this process; 0 = open loop (default ${DEFAULTS.window})`, min: 0}),
    inflight: Flags.integer({helpValue: 'N', description: `QoS 1/2: unacknowledged messages per publisher (default ${DEFAULTS.inflight})`, min: 1, max: 65_000}),
    batch: Flags.integer({helpValue: 'N', description: `messages per socket write (default ${DEFAULTS.batch})`, min: 1, max: 4096}),
    'connect-rate': Flags.integer({helpValue: 'N', description: 'connections per second while connecting; 0 = as fast as possible (default 0)', min: 0}),
    'connect-concurrency': Flags.integer({helpValue: 'N', description: `connection attempts at once (default ${DEFAULTS.connectConcurrency})`, min: 1}),
    keepalive: Flags.integer({helpValue: 'SECONDS', description: `keep-alive seconds (default ${DEFAULTS.keepalive})`, min: 0, max: 65_535}),
    ifaddr: Flags.string({helpValue: 'ADDR,…', description: 'source addresses, comma separated, used round robin (past ~60,000 connections per target)'}),
    subscribe: Flags.boolean({description: 'conn: subscribe each connection to --topic'}),
    probe: Flags.boolean({description: 'fanout: an unrelated client pair measures the longest stall meanwhile'}),
    workers: Flags.integer({char: 'w', helpValue: 'N', description: 'generator processes (default 1)', min: 1, max: 64}),
    username: Flags.string({char: 'u', helpValue: 'NAME', description: 'username'}),
    password: Flags.string({char: 'P', helpValue: 'SECRET', description: 'password'}),
    tls: Flags.boolean({description: 'connect with TLS'}),
    ca: Flags.string({helpValue: 'FILE', description: 'TLS: CA certificate file'}),
    cert: Flags.string({helpValue: 'FILE', description: 'TLS: client certificate file'}),
    key: Flags.string({helpValue: 'FILE', description: 'TLS: client key file'}),
    insecure: Flags.boolean({description: 'TLS: do not verify the broker certificate'}),
    'allow-remote': Flags.boolean({description: 'allow a target outside loopback (never load a broker you do not own)'}),
    'broker-pid': Flags.integer({helpValue: 'PID', description: 'sample this broker process (CPU, RSS) during the run', min: 1}),
    // suite / calibrate
    rounds: Flags.integer({helpValue: 'N', description: 'suite: rounds of A B', min: 1, default: 3}),
    quick: Flags.boolean({description: 'suite: small and short (a smoke run, not a measurement)'}),
    only: Flags.string({helpValue: 'IDS', description: 'suite: comma-separated scenario ids'}),
    out: Flags.string({helpValue: 'DIR', description: 'suite: directory for RESULTS.md and results.json (default: bench/)'}),
    'mosquitto-only': Flags.boolean({description: 'suite: measure Mosquitto alone'}),
    profile: Flags.string({helpValue: 'FILE', description: 'calibrate: profile file to write (default: ~/.config/mqttctl/profile.json)'}),
    connections: Flags.integer({helpValue: 'N', description: 'calibrate: idle connections for the memory figures', min: 10, default: 5000}),
  }

  async run(): Promise<unknown> {
    const {args, flags, raw} = await this.parse(Bench)
    const given = [...new Set(raw.filter((t) => t.type === 'flag').map((t) => (t as {flag: string}).flag))]
    const refused = inapplicable(args.mode, given)
    if (refused) return this.fail(refused, EXIT.usage)
    const say = (line: string) => !this.jsonEnabled() && process.stderr.write(`${line}\n`)
    if (args.mode === 'suite') {
      const r = await runSuite({rounds: flags.rounds, quick: flags.quick, only: flags.only?.split(',').filter(Boolean), out: flags.out, mosquittoOnly: flags['mosquitto-only'], log: say})
      if (!this.jsonEnabled()) this.log(renderMarkdown(r))
      return {...r, verdicts: verdicts(r)}
    }
    if (args.mode === 'calibrate') {
      const p = await calibrate({connections: flags.connections, profilePath: flags.profile, log: say})
      if (!this.jsonEnabled()) this.log(JSON.stringify(p, null, 2))
      return p
    }
    const o = normalize(args.mode as BenchMode, optionsFromFlags(args.mode as BenchMode, flags))
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    const line = progressLine()
    // One terminal row, rewritten in place: a longer line would wrap and \r would scroll the screen.
    const fit = (text: string) => text.slice(0, Math.max(20, (process.stderr.columns || 80) - 1))
    const result = await runBench(o, {progress: tty ? (p) => process.stderr.write(`\r${fit(line(p))}\u001B[K`) : undefined})
    if (tty) process.stderr.write('\n')
    if (!this.jsonEnabled()) this.log(summary(result))
    if (result.connect.failed > 0 || result.messages.lost > 0 || result.connect.connected === 0) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(EXIT.failed)
    }
    return result
  }
}
