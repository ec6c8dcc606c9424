import {relative} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {formatBytes, formatInt, outputWidth, table, wrap} from '../src/cli/render.js'
import {DEFAULT_INSTALL_DIR, DEFAULT_USER} from '../src/tune/index.js'
import {build, type BuildResult, OPTIMIZE_DOC, OPTIMIZE_MODES, resolvePlan} from '../src/build/index.js'
import {packageRoot} from '../src/paths.js'
import {TIER_NAMES} from '../src/sizing/tiers.js'
import {DEFAULT_NATS, DEFAULT_NATS_STORE} from '../src/build/cluster.js'

export type {BuildResult}

export default class Build extends BaseCommand {
  static summary = 'Build the broker for a server: bundle, configuration, systemd unit, OS scripts'
  static description = `Bundles the broker runtime and its dependencies into one file (esbuild) and writes a layout to copy to the server: bin/ (the broker), etc/broker.json (the configuration for the tier), systemd/ (the unit), scripts/ (OS tuning for --target), README.md and manifest.json (version, build options, SHA-256 of every file). The server needs no source tree and no node_modules; with --single-executable it needs no Node.js either.

Scale-out (docs/scale-out.md): with --nodes N (or a plan of several nodes for --devices) or --nats, also nodes/node-I/ for each node (broker.json with cluster.servers, cluster.nodeName, cluster.replicas and cluster.workers; a launcher; a systemd unit) and nats/nats-I.conf for each NATS server (JetStream store and size, max_payload, the routes of a NATS cluster).

Optimize modes:
  fast   ${OPTIMIZE_DOC.fast}
  small  ${OPTIMIZE_DOC.small}
  safe   ${OPTIMIZE_DOC.safe}

The same inputs give byte-identical files and archives (archive mtimes: SOURCE_DATE_EPOCH, else 0).`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> build --devices 50000 --archive',
    '<%= config.bin %> build --tier large --optimize small --single-executable --out ./mqtt-broker',
    '<%= config.bin %> build --config broker.json --target windows-x64',
    '<%= config.bin %> build --devices 3M --nodes 4 --workers 8 --nats nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222',
  ]

  static flags = {
    devices: Flags.string({char: 'n', description: 'devices the broker serves (500000, 500k, 1M); picks the tier', helpValue: 'N'}),
    tier: Flags.string({options: [...TIER_NAMES], description: 'small, medium or large, instead of --devices', helpValue: 'TIER'}),
    config: Flags.string({char: 'c', description: 'ship this JSON configuration instead of a tier\'s (its maxConnections sizes the OS files)', helpValue: 'FILE'}),
    optimize: Flags.string({options: [...OPTIMIZE_MODES], description: `${OPTIMIZE_MODES.join(', ')} (default fast)`, helpValue: 'MODE'}),
    out: Flags.string({char: 'o', description: 'output directory (default ./mqtt-broker); must not exist unless --force', helpValue: 'DIR'}),
    'single-executable': Flags.boolean({description: 'make bin/mqtt-broker a Node.js single executable from this host\'s node: the server needs no Node.js'}),
    target: Flags.string({description: 'platform the layout and scripts are for: linux, macos or windows, optionally -x64 or -arm64 (default: this host)', helpValue: 'OS[-ARCH]'}),
    archive: Flags.boolean({description: 'also write <out>.tar.gz (one top directory, reproducible)'}),
    'install-dir': Flags.string({description: 'where the layout is installed on the server (systemd unit paths)', default: DEFAULT_INSTALL_DIR, helpValue: 'DIR'}),
    user: Flags.string({description: 'service account of the systemd unit', default: DEFAULT_USER}),
    force: Flags.boolean({description: 'replace an existing --out directory and archive'}),
    nodes: Flags.string({description: 'broker nodes joined through NATS: per node nodes/node-I/ (configuration, launcher, systemd unit) and nats/ (nats-server.conf for each NATS server); default: the plan\'s nodes for --devices (1 below 1,000,000)', helpValue: 'N'}),
    workers: Flags.string({description: 'broker processes on each node (cluster.workers, start --workers; plan says how many); with --nodes or --nats (default 1)', helpValue: 'N'}),
    nats: Flags.string({description: `NATS servers the nodes join, nats://host:port separated by commas (default ${DEFAULT_NATS}); nats/ gets a nats-server.conf for each`, helpValue: 'URLS'}),
    'nats-store': Flags.string({description: `JetStream store directory on the NATS servers (default ${DEFAULT_NATS_STORE})`, helpValue: 'DIR'}),
  }

  async run(): Promise<BuildResult> {
    const {flags} = await this.parse(Build)
    const json = this.jsonEnabled()
    const plan = resolvePlan({
      devices: flags.devices,
      tier: flags.tier,
      config: flags.config,
      optimize: flags.optimize,
      out: flags.out,
      target: flags.target,
      singleExecutable: flags['single-executable'],
      archive: flags.archive,
      installDir: flags['install-dir'],
      user: flags.user,
      force: flags.force,
      nodes: flags.nodes,
      workers: flags.workers,
      nats: flags.nats,
      natsStore: flags['nats-store'],
    })
    if (!json) for (const note of plan.notes) process.stderr.write(`${note}\n`)
    const result = await build(plan, {root: packageRoot(), progress: json ? undefined : (s) => process.stderr.write(`${s}\n`)})
    if (!json) this.log(summary(result))
    return result
  }
}

function summary(r: BuildResult, width = outputWidth()): string {
  const rows = [...r.files.map((f) => [f.path, formatBytes(f.bytes), f.description]), ['total', formatBytes(r.bytes), `${r.files.length} files`]]
  const lines = [
    wrap(`Built mqtt-broker ${r.version} for ${r.target}: tier ${r.tier}${r.devices === null ? '' : ` (${formatInt(r.devices)} devices${r.nodes > 1 ? ' per node' : ''})`}, optimize ${r.optimize}, ${r.singleExecutable ? 'single executable' : 'JavaScript bundle + launcher (needs Node.js >= 20 on the server)'}`, width),
    '',
    `${r.out}/`,
    table(rows, {indent: 2, align: ['l', 'r', 'l'], maxWidth: width}),
  ]
  if (r.archive) lines.push('', `archive ${r.archive.path} (${formatBytes(r.archive.bytes)})`)
  const where = relative(process.cwd(), r.out) || '.'
  lines.push('', `Run it here: ${where}/bin/mqtt-broker --port 1883`, `Install: see ${where}/README.md`)
  return lines.join('\n')
}
