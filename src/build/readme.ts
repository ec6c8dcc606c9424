/** The README.md an operator finds at the top of the layout: what is in it, how to install and run it. */
import {formatInt} from '../cli/render.js'
import {BROKER_OPTIONS} from '../control/options.js'
import {OPTIMIZE_DOC} from './bundle.js'
import type {BuildPlan} from './options.js'

function options(): string {
  const rows = [['--config FILE', 'JSON configuration (default: ../etc/broker.json next to bin/)'], ...BROKER_OPTIONS.map((o) => [`--${o.flag}${o.helpValue ? ` ${o.helpValue}` : ''}`, o.flag === 'data-dir' ? 'data directory (default: the dataDir of etc/broker.json, relative to the install directory: <install>/data)' : o.help])]
  return rows.map(([a, b]) => `| \`${a}\` | ${b} |`).join('\n')
}

function linux(p: BuildPlan): string {
  const d = p.installDir
  return `## Install on Linux (systemd)

\`\`\`sh
sudo mkdir -p ${d} && sudo cp -R . ${d}/          # or: sudo tar -xzf mqtt-broker.tar.gz -C ${d} --strip-components=1
cd ${d}
sudo ./scripts/apply.sh                     # creates the ${p.user} user, backs up, installs sysctl, limits and the unit, verifies
sudo install -d -o ${p.user} -g ${p.user} ${d}/data
sudo systemctl daemon-reload && sudo systemctl enable --now mqtt-broker
journalctl -u mqtt-broker -f
\`\`\`

\`scripts/apply.sh restore\` undoes the OS changes. The unit (\`systemd/mqtt-broker.service\`, the same file
as \`scripts/systemd/mqtt-broker.service\`) runs \`${d}/bin/mqtt-broker --config ${d}/etc/broker.json\` as
${p.user} with \`LimitNOFILE=${formatInt(p.tier.os.openFiles)}\`. The layout expects to live in ${d}; to install
elsewhere, rebuild with \`mqttctl build --install-dir DIR\`.`
}

function other(p: BuildPlan): string {
  if (p.target.os === 'macos') {
    return `## Install on macOS

Copy this directory to ${p.installDir}, then raise the open-file limit: \`sudo ./scripts/install-macos.sh\`
(a LaunchDaemon; \`uninstall\` undoes). Start the broker with \`bin/mqtt-broker\`.`
  }
  return `## Install on Windows

Copy this directory to the server. In an elevated PowerShell run \`scripts\\tune.ps1\` (\`scripts\\verify.ps1\`
checks, \`scripts\\undo.ps1\` restores), then start the broker with \`bin\\mqtt-broker.cmd\` (Node.js >= 20 on PATH).`
}

export function operatorReadme(p: BuildPlan, version: string): string {
  const exe = p.singleExecutable
    ? `\`bin/mqtt-broker\` is a single executable (Node.js ${process.version} inside): the server needs no Node.js.`
    : `\`bin/mqtt-broker\` is a launcher that runs \`bin/broker.mjs\` (the whole broker runtime in one file) with the server's \`node\` (Node.js >= 20; set NODE=/path/to/node to choose one).`
  const sized = p.devices !== undefined ? `${formatInt(p.devices)} devices${p.nodes > 1 ? ` per node (${p.nodes} nodes)` : ''}, ` : ''
  return `# MQTT broker (mqttctl ${version})

Built by \`mqttctl build\` for ${p.target.name}: ${sized}tier **${p.tier.name}** (MAX_CONNECTIONS ${formatInt(p.config.maxConnections)}),
optimize \`${p.optimize}\` (${OPTIMIZE_DOC[p.optimize]}).

${exe} No source tree, \`node_modules\` or \`mqttctl\` is needed on the server.

| path | what |
|---|---|
| \`bin/\` | the broker (\`mqtt-broker\`${p.singleExecutable ? '' : ', `broker.mjs`'}${p.target.os === 'windows' ? ', `mqtt-broker.cmd`' : ''}; \`package.json\` only names the version) |
| \`etc/broker.json\` | the broker configuration (${p.configSource.startsWith('tier ') ? `the ${p.tier.name} tier's, as \`mqttctl plan --write\` writes it` : 'from --config'}) |
${p.target.os === 'linux' ? '| `systemd/mqtt-broker.service` | the systemd unit |\n' : ''}| \`scripts/\` | the OS tuning files for ${p.target.os} (\`mqttctl tune\`) |
| \`monitoring/\` | a Prometheus scrape configuration and a Grafana dashboard for the broker's /metrics (enable metrics in \`etc/broker.json\`); the runtime profile the plan sized it by |
| \`manifest.json\` | version, build options and SHA-256 of every file |
| \`SHA256SUMS\` | the same checksums: \`sha256sum -c SHA256SUMS\` |

## Run it by hand

\`\`\`sh
bin/mqtt-broker                          # etc/broker.json; data in data/ of this directory
bin/mqtt-broker --port 1884 --host 127.0.0.1 --log-level debug
bin/mqtt-broker --config /etc/mqtt/broker.json --data-dir /var/lib/mqtt-broker
\`\`\`

It stops cleanly on SIGINT/SIGTERM (exit 0). MQTTCTL_* environment variables override the file; flags
override both. \`mqttctl start --runtime <this directory>\` runs it from a machine that has mqttctl.

| option | |
|---|---|
${options()}

${p.target.os === 'linux' ? linux(p) : other(p)}
${p.cluster ? scaleOut(p) : ''}`
}

function scaleOut(p: BuildPlan): string {
  const c = p.cluster!
  const d = p.installDir
  const servers = c.servers.map((s) => `\`nats/${s.name}.conf\` on ${s.host}`).join(', ')
  return `
## Scale-out: ${c.nodes} node${c.nodes > 1 ? 's' : ''} over ${c.servers.length} NATS server${c.servers.length > 1 ? 's' : ''}

1. NATS first. On each NATS host: \`sudo apt-get install nats-server\`, then install its file as
   \`/etc/nats-server.conf\` (the file's header says how): ${servers}. Check with
   \`nats-server -t -c /etc/nats-server.conf\`, then \`sudo systemctl restart nats-server\`.
2. On each broker host, install this layout as above, then use that host's node: \`nodes/<name>/broker.json\`
   joins ${c.urls.join(', ')} as cluster.nodeName <name> with ${c.workers} worker${c.workers > 1 ? 's' : ''} and JetStream replicas ${c.replicas}.
   With systemd, after \`scripts/apply.sh\` (which installs the single-node unit):
   \`sudo cp ${d}/nodes/<name>/mqtt-broker.service /etc/systemd/system/ && sudo systemctl daemon-reload &&
   sudo systemctl restart mqtt-broker\` (it runs \`${d}/bin/mqtt-broker --config ${d}/nodes/<name>/broker.json\`);
   by hand: \`nodes/<name>/mqtt-broker\`.
3. \`mqttctl doctor --config nodes/<name>/broker.json\` checks the NATS servers from a broker host;
   \`mqttctl monitor --url mqtt://<node>:1883 --node mqtt://<other node>:1883 ...\` shows each node's and the cluster's figures.

Nodes: ${c.nodeNames.length > 6 ? `${c.nodeNames.slice(0, 3).join(', ')} ... ${c.nodeNames.at(-1)}` : c.nodeNames.join(', ')}. Keep a node's name across restarts (its JetStream consumer is named after it).
`
}
