/**
 * `mqttctl build`: bundle the broker runtime, optionally make it a single executable, lay it out with
 * its configuration, systemd unit and OS scripts for the target, and write it (and a .tar.gz) at once.
 *
 *   const plan = resolvePlan({devices: '50000', archive: true})     // BuildError on bad input
 *   const result = await build(plan, {root: packageRoot(), progress: (s) => ...})
 */
import {packageVersion} from '../paths.js'
import {bundleRuntime, esbuildVersion} from './bundle.js'
import {type LayoutFile, layoutFiles, type Runtime, sha256} from './layout.js'
import type {BuildPlan} from './options.js'
import {buildSea} from './sea.js'
import {archiveMtime} from './tar.js'
import {writeLayout} from './write.js'

export {BuildError} from './errors.js'
export {OPTIMIZE_DOC, OPTIMIZE_MODES, type Optimize} from './bundle.js'
export {type BuildInput, type BuildPlan, hostPlatform, resolvePlan} from './options.js'
export {SEA_INSTEAD, seaSupport} from './sea.js'

export interface BuildResult {
  out: string
  archive: {path: string; bytes: number} | null
  version: string
  tier: string
  devices: number | null
  nodes: number
  optimize: string
  target: string
  singleExecutable: boolean
  notes: string[]
  /** Scale-out builds: the nodes (names), workers per node and the NATS URLs their configurations join; else null. */
  cluster: {nodes: number; workers: number; nodeNames: string[]; nats: string[]; replicas: number} | null
  files: Array<{path: string; bytes: number; sha256: string; description: string}>
  /** Sum of the files' sizes. */
  bytes: number
}

export interface BuildContext {
  /** mqttctl's package root (package.json, sources or dist/, node_modules/). */
  root: string
  /** Called at the start of each step with "[n/N] what". */
  progress?: (step: string) => void
  env?: Record<string, string | undefined>
}

export async function build(plan: BuildPlan, ctx: BuildContext): Promise<BuildResult> {
  const version = packageVersion(ctx.root)
  const steps = plan.singleExecutable ? 4 : 3
  let n = 0
  const step = (what: string) => ctx.progress?.(`[${++n}/${steps}] ${what}`)

  step(`bundling the broker runtime with esbuild ${esbuildVersion} (optimize ${plan.optimize}, ${plan.singleExecutable ? 'CommonJS for the single executable' : 'ES module'})`)
  const bundle = await bundleRuntime({root: ctx.root, optimize: plan.optimize, format: plan.singleExecutable ? 'cjs' : 'esm', version})
  const runtime: Runtime = {esbuild: esbuildVersion}
  if (plan.singleExecutable) {
    step(`making a single executable from this Node.js ${process.version} (${process.execPath}) with postject`)
    runtime.executable = await buildSea(bundle)
  } else runtime.bundle = bundle

  step(`rendering etc/broker.json (${plan.configSource}), ${plan.target.os === 'linux' ? 'the systemd unit and ' : ''}the ${plan.target.os} OS scripts`)
  const files: LayoutFile[] = layoutFiles(plan, runtime, version)

  step(`writing ${plan.out}${plan.archive ? ` and ${plan.archive}` : ''}`)
  const written = writeLayout(files, plan.out, {archive: plan.archive, mtime: archiveMtime(ctx.env ?? process.env), force: plan.force})

  return {
    out: written.out,
    archive: written.archive ?? null,
    version,
    tier: plan.tier.name,
    devices: plan.devices ?? null,
    nodes: plan.nodes,
    optimize: plan.optimize,
    target: plan.target.name,
    singleExecutable: plan.singleExecutable,
    notes: plan.notes,
    cluster: plan.cluster && {nodes: plan.cluster.nodes, workers: plan.cluster.workers, nodeNames: plan.cluster.nodeNames, nats: plan.cluster.urls, replicas: plan.cluster.replicas},
    files: files.map((f) => ({path: f.path, bytes: f.content.length, sha256: sha256(f.content), description: f.description})),
    bytes: files.reduce((s, f) => s + f.content.length, 0),
  }
}
