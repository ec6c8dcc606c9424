/**
 * The files of the layout, in memory: bin/, etc/, systemd/, scripts/, README.md, manifest.json and
 * SHA256SUMS. Pure: the same plan and runtime bytes give the same files (no timestamps, no host paths).
 */
import {createHash} from 'node:crypto'
import {basename} from 'node:path'
import {brokerNodeFlags} from '../broker/node-flags.js'
import {renderTuneFiles} from '../tune/index.js'
import {LAYOUT_CONFIG} from './defaults.js'
import type {BuildPlan} from './options.js'
import {monitoringFiles} from './monitoring.js'
import {clusterFiles} from './cluster.js'
import {operatorReadme} from './readme.js'

export interface LayoutFile {
  /** Relative path with '/' separators. */
  path: string
  content: Buffer
  mode: number
  description: string
}

export interface Runtime {
  /** bin/broker.mjs (when not a single executable). */
  bundle?: Buffer
  /** bin/mqtt-broker as a single executable. */
  executable?: Buffer
  esbuild: string
}

const launcher = (flags: string) => `#!/bin/sh
# mqtt-broker: runs the bundled broker runtime (broker.mjs next to this file) with Node.js >= 20.
# Same options as \`mqttctl start\`; defaults: ../etc/broker.json and ../data. NODE=/path/to/node picks node.
case $0 in */*) here=\${0%/*} ;; *) here=. ;; esac
here=$(CDPATH= cd -- "$here" && pwd -P) || exit 1
node=\${NODE:-node}
if ! command -v "$node" > /dev/null 2>&1; then
  echo "mqtt-broker: $node (Node.js >= 20) is not on PATH; install Node.js 20 or newer, set NODE=/path/to/node, or rebuild with mqttctl build --single-executable" >&2
  exit 127
fi
exec "$node" ${flags} "$here/broker.mjs" "$@"
`

const cmdLauncher = (flags: string) => `@echo off\r
rem mqtt-broker: runs the bundled broker runtime (broker.mjs next to this file) with Node.js >= 20.\r
node ${flags} "%~dp0broker.mjs" %*\r
`

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const text = (s: string) => Buffer.from(s, 'utf8')

export function layoutFiles(p: BuildPlan, runtime: Runtime, version: string): LayoutFile[] {
  const files: LayoutFile[] = []
  const add = (path: string, content: Buffer, description: string, mode = 0o644) => files.push({path, content, mode, description})

  if (runtime.executable) add('bin/mqtt-broker', runtime.executable, `the broker: single executable (Node.js ${process.version})`, 0o755)
  // The heap limit and semi-space of etc/broker.json's runtime settings (plan --write sets them).
  const nodeFlags = brokerNodeFlags(p.config.runtime)
  if (runtime.bundle) {
    add('bin/broker.mjs', runtime.bundle, `the broker runtime bundle (${p.optimize})`)
    if (p.target.os === 'windows') add('bin/mqtt-broker.cmd', text(cmdLauncher(nodeFlags.join(' '))), 'launcher: node broker.mjs')
    else add('bin/mqtt-broker', text(launcher(nodeFlags.join(' '))), 'launcher: node broker.mjs', 0o755)
  }
  add('bin/package.json', text(JSON.stringify({name: 'mqttctl', version, private: true, description: 'names the version the broker reports ($SYS/broker/version)'}, null, 2) + '\n'), 'version marker')
  add(LAYOUT_CONFIG, text(JSON.stringify(p.config, null, 2) + '\n'), `broker configuration (${p.configSource.startsWith('tier ') ? p.configSource : `from ${basename(p.configSource)}`})`)

  const tune = renderTuneFiles({os: p.target.os, tier: p.tier, devices: p.devices, nodes: p.nodes > 1 ? p.nodes : undefined, installDir: p.installDir, user: p.user, nodeFlags})
  for (const f of tune) {
    if (f.path.startsWith('systemd/')) add(f.path, text(f.content), f.description, f.mode ?? 0o644)
    add(`scripts/${f.path}`, text(f.content), f.description, f.mode ?? 0o644)
  }
  for (const f of monitoringFiles(p, version)) add(f.path, text(f.content), f.description)
  if (p.cluster) {
    const unit = tune.find((f) => f.path === 'systemd/mqtt-broker.service')?.content ?? null
    for (const f of clusterFiles(p.config, p.cluster, p.installDir, unit)) add(f.path, text(f.content), f.description, f.mode ?? 0o644)
  }
  add('README.md', text(operatorReadme(p, version)), 'how to install and run')

  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const manifest = {
    manifestVersion: 1,
    name: 'mqtt-broker',
    version,
    build: {
      tier: p.tier.name,
      devices: p.devices ?? null,
      nodes: p.nodes,
      config: p.configSource.startsWith('tier ') ? p.configSource : basename(p.configSource),
      optimize: p.optimize,
      target: p.target.name,
      singleExecutable: Boolean(runtime.executable),
      installDir: p.installDir,
      user: p.user,
      node: process.version,
      esbuild: runtime.esbuild,
    },
    files: files.map((f) => ({path: f.path, size: f.content.length, mode: f.mode.toString(8).padStart(4, '0'), sha256: sha256(f.content)})),
  }
  add('manifest.json', text(JSON.stringify(manifest, null, 2) + '\n'), 'version, build options, SHA-256 of every file')
  const sums = files.map((f) => `${sha256(f.content)}  ${f.path}\n`).join('')
  add('SHA256SUMS', text(sums), 'sha256sum -c SHA256SUMS')
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return files
}
