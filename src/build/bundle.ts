/**
 * Bundles the broker runtime (src/build/entry.ts -> src/broker/process/run-main.ts -> src/broker/) and all
 * its dependencies into one JavaScript file with esbuild. Deterministic: no timestamps, no absolute
 * paths (esbuild names modules relative to the package root, and the source map of `safe` is relative
 * to a fixed virtual output path), so the same sources give byte-identical bundles.
 */
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build, type Plugin, version as esbuildVersion} from 'esbuild'
import {BuildError} from './errors.js'

export type Optimize = 'fast' | 'small' | 'safe'
export const OPTIMIZE_MODES: readonly Optimize[] = ['fast', 'small', 'safe']

/** What each mode changes (README and `build --help`). */
export const OPTIMIZE_DOC: Record<Optimize, string> = {
  fast: 'production build: one readable file, no source map, NODE_ENV inlined as "production" (the default)',
  small: 'fast, minified (whitespace, identifiers, syntax): about half the size',
  safe: 'not minified, function and class names kept, inline source map so stack traces name the TypeScript sources',
}

export {esbuildVersion}

export interface BundleOptions {
  /** The mqttctl package root (holds package.json, src/ or dist/src/, node_modules/). */
  root: string
  optimize: Optimize
  /** esm: bin/broker.mjs run by node; cjs: the script of a single executable (Node 20 SEA needs CommonJS). */
  format: 'esm' | 'cjs'
  version: string
}

/** The entry next to this file: entry.ts when running from sources, entry.js from dist/. */
export function entryFile(): string {
  const here = fileURLToPath(import.meta.url)
  return join(dirname(here), here.endsWith('.ts') ? 'entry.ts' : 'entry.js')
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Our own modules that load a CommonJS dependency through `createRequire(import.meta.url)`
 * (src/broker/parser.ts loads mqtt-packet/parser.js that way) would leave a run-time require of
 * node_modules in the bundle. Dropping that local `require` makes the call a plain require(), which
 * esbuild resolves and bundles.
 */
function bundleLocalRequires(root: string): Plugin {
  const ours = new RegExp(`^${escape(root)}/(dist/)?src/.*\\.(ts|js)$`)
  const local = /^[ \t]*const require = createRequire\(import\.meta\.url\);?[ \t]*$/m
  return {
    name: 'mqttctl-bundle-local-requires',
    setup(b) {
      b.onLoad({filter: ours}, async (args) => {
        const text = await readFile(args.path, 'utf8')
        if (!local.test(text)) return undefined
        return {contents: text.replace(local, ''), loader: args.path.endsWith('.ts') ? 'ts' : 'js'}
      })
    },
  }
}

/**
 * mqtt-packet's `bl` and `debug`, resolved at bundle time as src/broker/mqtt-packet.ts resolves them
 * at run time from dist/: `bl` -> bl/BufferList.js (the buffer list without readable-stream) and
 * `debug` -> src/broker/mqtt-packet-debug.ts (the real package only when DEBUG is set). Without this
 * the bundle would evaluate readable-stream, bl's stream and debug at the first mqtt-packet require:
 * about 5 MB of an idle broker's RSS.
 */
function leanMqttPacket(): Plugin {
  const fromMqttPacket = /[\\/]node_modules[\\/]mqtt-packet[\\/]/
  const here = fileURLToPath(import.meta.url)
  const debugModule = join(dirname(here), '..', 'broker', here.endsWith('.ts') ? 'mqtt-packet-debug.ts' : 'mqtt-packet-debug.js')
  return {
    name: 'mqttctl-lean-mqtt-packet',
    setup(b) {
      b.onResolve({filter: /^(bl|debug)$/}, async (args) => {
        if (!fromMqttPacket.test(args.importer)) return undefined
        if (args.path === 'debug') return {path: 'debug', namespace: 'mqttctl-mqtt-packet-debug'}
        // No importer here, so this resolve does not come back to this callback.
        const bl = await b.resolve('bl', {kind: args.kind, resolveDir: args.resolveDir})
        if (bl.errors.length > 0) return {errors: bl.errors}
        return {path: join(dirname(bl.path), 'BufferList.js')}
      })
      // mqtt-packet calls require('debug')(namespace): a CommonJS module whose exports is the function.
      b.onLoad({filter: /.*/, namespace: 'mqttctl-mqtt-packet-debug'}, () => ({
        contents: `module.exports = require(${JSON.stringify(`./${basename(debugModule)}`)}).mqttPacketDebug`,
        resolveDir: dirname(debugModule),
        loader: 'js',
      }))
    },
  }
}

/** Node built-ins required by bundled CommonJS code need a real require in an ES module. */
const ESM_BANNER = "import {createRequire as __mqttctlCreateRequire} from 'node:module';\nconst require = __mqttctlCreateRequire(import.meta.url);"
/** In a CommonJS bundle import.meta is empty: give it this file's URL (the executable, in a SEA). */
const CJS_BANNER = "var __mqttctlImportMetaUrl = require('node:url').pathToFileURL(__filename).href;"

export async function bundleRuntime(options: BundleOptions): Promise<Buffer> {
  const o = {...options, root: resolve(options.root)}
  const production = o.optimize !== 'safe'
  const out = join(o.root, '.mqttctl-build', 'bin', o.format === 'esm' ? 'broker.mjs' : 'broker.cjs')
  let result
  try {
    result = await build({
      absWorkingDir: o.root,
      entryPoints: [entryFile()],
      outfile: out,
      write: false,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: o.format,
      charset: 'utf8',
      legalComments: 'eof',
      minify: o.optimize === 'small',
      keepNames: o.optimize === 'safe',
      sourcemap: o.optimize === 'safe' ? 'inline' : false,
      sourcesContent: true,
      banner: {js: o.format === 'esm' ? ESM_BANNER : CJS_BANNER},
      define: {
        __MQTTCTL_VERSION__: JSON.stringify(o.version),
        __MQTTCTL_OPTIMIZE__: JSON.stringify(o.optimize),
        ...(production ? {'process.env.NODE_ENV': '"production"'} : {}),
        ...(o.format === 'cjs' ? {'import.meta.url': '__mqttctlImportMetaUrl'} : {}),
      },
      plugins: [bundleLocalRequires(o.root), leanMqttPacket()],
      logLevel: 'silent',
    })
  } catch (error) {
    const errors = (error as {errors?: Array<{text: string; location?: {file: string; line: number}}>}).errors ?? []
    const first = errors[0]
    throw new BuildError(`esbuild could not bundle the broker runtime: ${first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}` : (error as Error).message}`, 1)
  }
  const file = result.outputFiles.find((f) => f.path === out) ?? result.outputFiles[0]
  return Buffer.from(file.contents)
}
