import {Args, Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {BaseCommand} from '../src/cli/base-command.js'
import {calibrate} from '../src/bench/calibrate.js'
import {BenchUsageError, MODES, normalize, parseUrl, runBench, type BenchMode, type BenchOptions, type BenchResult} from '../src/bench/index.js'
import {progressLine, summary} from '../src/bench/render.js'
import {runSuite} from '../src/bench/suite/index.js'
import {renderMarkdown, verdicts} from '../src/bench/suite/report.js'

const EXIT = {ok: 0, failed: 1, usage: 2}

export default class Bench extends BaseCommand {
  static summary = 'Load-test an MQTT broker (conn, pub, sub, pubsub, fanout, latency), run the performance suite, or calibrate the sizing profile.'

  static description = `A built-in load generator on raw sockets with pre-encoded packets. Every run stops by itself
(--duration or --count) and only targets loopback unless --allow-remote is given.
Topics and client ids take %i (the client index). At the end it prints msgs/s sent and received,
latency percentiles (timestamp in the payload), connect rate, errors and its own CPU.
  suite      our broker vs Mosquitto side by side, writes bench/RESULTS.md (what \`npm run bench\` runs)
  calibrate  measures our broker on this host and stores the profile \`plan --profile measured\` reads
Exit codes: 0 ok, 1 connections failed or messages lost, 2 bad flag or refused target.`

  static examples = [
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
    host: Flags.string({description: 'broker host (loopback only unless --allow-remote)', default: '127.0.0.1'}),
    port: Flags.integer({char: 'p', description: 'broker port', default: 1883, min: 1, max: 65_535}),
    url: Flags.string({description: 'mqtt://[user:pass@]host:port or mqtts://… (overrides --host/--port)'}),
    clients: Flags.integer({char: 'c', description: 'clients: connections, publishers, or subscribers (sub, fanout)', min: 1}),
    subscribers: Flags.integer({description: 'pubsub/latency: subscribers (default: one per publisher)', min: 0}),
    topic: Flags.string({char: 't', description: 'topic, %i = client index'}),
    'sub-topic': Flags.string({description: 'subscription filter (default: --topic)'}),
    'client-id': Flags.string({description: 'client id prefix, %i = client index'}),
    size: Flags.integer({char: 's', description: 'payload bytes (≥ 12: timestamp and sequence number)', min: 12}),
    qos: Flags.integer({char: 'q', description: 'QoS of publishes and subscriptions', options: ['0', '1', '2'] as never}),
    retain: Flags.boolean({description: 'publish with the retain flag'}),
    protocol: Flags.integer({char: 'V', description: 'MQTT version: 3 (3.1), 4 (3.1.1), 5', options: ['3', '4', '5'] as never}),
    rate: Flags.integer({char: 'r', description: 'messages per second over all publishers (conn: connections per second); 0 = as fast as the window allows', min: 0}),
    interval: Flags.integer({char: 'i', description: 'ms between messages of one publisher, or between fanout broadcasts (0 = back to back)', min: 0}),
    duration: Flags.integer({char: 'd', description: 'seconds to run (0 = until --count)', min: 0}),
    count: Flags.integer({char: 'n', description: 'messages (or broadcasts) in total, then stop', min: 0}),
    warmup: Flags.integer({description: 'seconds excluded from rates and latency at the start', min: 0}),
    window: Flags.integer({description: 'max messages in flight from publishers to subscribers of this process (0 = open loop)', min: 0}),
    inflight: Flags.integer({description: 'QoS 1/2: unacknowledged messages per publisher', min: 1}),
    batch: Flags.integer({description: 'messages per socket write', min: 1, max: 4096}),
    'connect-rate': Flags.integer({description: 'connections per second while connecting (0 = as fast as possible)', min: 0}),
    'connect-concurrency': Flags.integer({description: 'connection attempts at once', min: 1}),
    keepalive: Flags.integer({description: 'keep-alive seconds', min: 0, max: 65_535}),
    ifaddr: Flags.string({description: 'source addresses, comma separated, used round robin (past ~60,000 connections per target)'}),
    subscribe: Flags.boolean({description: 'conn: subscribe each connection to --topic'}),
    probe: Flags.boolean({description: 'fanout: an unrelated client pair measures the longest stall meanwhile'}),
    workers: Flags.integer({char: 'w', description: 'generator processes', min: 1, max: 64}),
    username: Flags.string({char: 'u', description: 'username'}),
    password: Flags.string({char: 'P', description: 'password'}),
    tls: Flags.boolean({description: 'connect with TLS'}),
    ca: Flags.string({description: 'TLS: CA certificate file'}),
    cert: Flags.string({description: 'TLS: client certificate file'}),
    key: Flags.string({description: 'TLS: client key file'}),
    insecure: Flags.boolean({description: 'TLS: do not verify the broker certificate'}),
    'allow-remote': Flags.boolean({description: 'allow a target outside loopback (never load a broker you do not own)'}),
    'broker-pid': Flags.integer({description: 'sample this broker process (CPU, RSS) during the run'}),
    // suite / calibrate
    rounds: Flags.integer({description: 'suite: rounds of A B', min: 1, default: 3}),
    quick: Flags.boolean({description: 'suite: small and short (a smoke run, not a measurement)'}),
    only: Flags.string({description: 'suite: comma-separated scenario ids'}),
    out: Flags.string({description: 'suite: directory for RESULTS.md and results.json (default: bench/)'}),
    'mosquitto-only': Flags.boolean({description: 'suite: measure Mosquitto alone'}),
    profile: Flags.string({description: 'calibrate: profile file to write (default: ~/.config/mqttctl/profile.json)'}),
    connections: Flags.integer({description: 'calibrate: idle connections for the memory figures', min: 10, default: 5000}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Bench)
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
    let o: BenchOptions
    let result: BenchResult
    try {
      o = normalize(args.mode as BenchMode, this.options(args.mode as BenchMode, flags))
      const tty = process.stderr.isTTY && !this.jsonEnabled()
      const line = progressLine()
      result = await runBench(o, {progress: tty ? (p) => process.stderr.write(`\r${line(p)}\u001B[K`) : undefined})
      if (tty) process.stderr.write('\n')
    } catch (e) {
      if (e instanceof BenchUsageError) this.fail(e.message, EXIT.usage)
      throw e
    }
    if (!this.jsonEnabled()) this.log(summary(result))
    if (result.connect.failed > 0 || result.messages.lost > 0 || result.connect.connected === 0) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(EXIT.failed)
    }
    return result
  }

  private options(mode: BenchMode, f: Record<string, unknown>): Partial<BenchOptions> {
    const str = (k: string) => f[k] as string | undefined
    const int = (k: string) => (f[k] === undefined ? undefined : Number(f[k]))
    const file = (k: string) => (str(k) ? readFileSync(str(k)!, 'utf8') : undefined)
    const fromUrl = str('url') ? parseUrl(str('url')!) : {}
    const o: Partial<BenchOptions> = {
      host: str('host'),
      port: int('port'),
      ...fromUrl,
      clients: int('clients'),
      subscribers: int('subscribers'),
      topic: str('topic'),
      subTopic: str('sub-topic'),
      clientId: str('client-id'),
      size: int('size'),
      qos: int('qos') as BenchOptions['qos'] | undefined,
      retain: f.retain as boolean,
      protocol: int('protocol') as BenchOptions['protocol'] | undefined,
      rate: mode === 'conn' ? undefined : int('rate'),
      connectRate: mode === 'conn' && f.rate !== undefined ? int('rate') : int('connect-rate'),
      interval: int('interval'),
      duration: int('duration'),
      count: int('count'),
      warmup: int('warmup'),
      window: int('window'),
      inflight: int('inflight'),
      batch: int('batch'),
      connectConcurrency: int('connect-concurrency'),
      keepalive: int('keepalive'),
      ifaddr: str('ifaddr')?.split(',').map((s) => s.trim()).filter(Boolean),
      subscribe: f.subscribe as boolean,
      probe: f.probe as boolean,
      workers: int('workers'),
      allowRemote: f['allow-remote'] as boolean,
      brokerPid: int('broker-pid'),
      ca: file('ca'),
      cert: file('cert'),
      key: file('key'),
      insecure: f.insecure as boolean,
    }
    if (str('username') !== undefined) o.username = str('username')
    if (str('password') !== undefined) o.password = str('password')
    if (f.tls) o.tls = true
    return o
  }
}
