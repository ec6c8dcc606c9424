/**
 * What a broker loads at start follows its configuration (docs/sizing.md, "What the idle runtime
 * costs"): `ws` and node:http only with a WebSocket listener or the metrics listener, node:tls only
 * with a TLS listener, the NATS client only for a cluster, mqtt-packet without readable-stream and
 * debug (src/broker/mqtt-packet.ts), and no Intl anywhere in the runtime (its first use loads ICU's
 * data, ~7 MB RSS).
 * Each case runs in a fresh Node.js process, since a module once loaded stays loaded.
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const src = (path: string) => pathToFileURL(join(ROOT, path)).href
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-lazy-'))

/** Starts a broker (and its reporter) with `overrides` in a child process; what it had loaded once listening. */
function loadedWith(overrides: string): Promise<Record<string, boolean>> {
  const script = join(dir, `probe-${Math.random().toString(36).slice(2)}.mts`)
  writeFileSync(
    script,
    `import {createRequire} from 'node:module'
import {createBroker} from '${src('src/broker/index.ts')}'
import {startReporter} from '${src('src/broker/stats/reporter.ts')}'
import {DEFAULT_CONFIG} from '${src('src/config/index.ts')}'
const cache = () => Object.keys(createRequire(import.meta.url).cache)
const broker = createBroker({...DEFAULT_CONFIG, ...${overrides}})
await broker.listen()
const reporter = startReporter(broker)
await reporter.metrics
const builtin = (name) => process.moduleLoadList.includes('NativeModule ' + name)
const has = (dir) => cache().some((k) => k.includes('/node_modules/' + dir + '/'))
process.stdout.write(JSON.stringify({ws: has('ws'), nats: has('nats'), http: builtin('http'), https: builtin('https'), tls: builtin('tls'), stream: has('readable-stream'), debug: has('debug')}))
await reporter.stop()
await broker.close()
`,
  )
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], {cwd: ROOT, timeout: 60_000}, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`))
      else resolve(JSON.parse(stdout) as Record<string, boolean>)
    })
  })
}

/** The process entry's path (src/broker/main.ts -> runMain) with `args`: which of our modules it had resolved once listening. */
async function modulesOfRunMain(args: string[]): Promise<string[]> {
  const script = join(dir, `main-${Math.random().toString(36).slice(2)}.mts`)
  const log = `${script}.modules`
  const hook = `import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) { const r = await next(specifier, context); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r }`
  writeFileSync(
    script,
    `import {register} from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
const {runMain} = await import('${src('src/broker/process/run-main.ts')}')
const stop = new AbortController()
process.exitCode = await runMain(${JSON.stringify(args)}, {}, {signal: stop.signal, handleSignals: false, write: () => {}, onListening: () => stop.abort()})
`,
  )
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], {cwd: ROOT, timeout: 60_000}, (error, _stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve()))
  })
  return readFileSync(log, 'utf8').split('\n').filter((u) => u.includes('/src/')).map((u) => u.slice(u.indexOf('/src/') + 1))
}

afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('the broker loads only what its configuration uses', () => {
  it('a plain TCP broker without metrics loads neither ws, node:http, node:https, node:tls nor nats', async () => {
    expect(await loadedWith(`{listeners: [{host: '127.0.0.1', port: 0}]}`)).toMatchObject({ws: false, nats: false, http: false, https: false, tls: false})
  })

  it("mqtt-packet comes without readable-stream (bl's stream) and without debug while DEBUG is unset", async () => {
    expect(await loadedWith(`{listeners: [{host: '127.0.0.1', port: 0}]}`)).toMatchObject({stream: false, debug: false})
  })

  it('a WebSocket listener loads ws and node:http; metrics load node:http', async () => {
    expect(await loadedWith(`{listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: 0, websocket: true}]}`)).toMatchObject({ws: true, http: true})
    expect(await loadedWith(`{listeners: [{host: '127.0.0.1', port: 0}], metrics: {...DEFAULT_CONFIG.metrics, enabled: true, host: '127.0.0.1', port: 0}}`)).toMatchObject({ws: false, http: true})
  })

  it('the process entry of a one-process broker does not load the --workers module (node:child_process, IPC)', async () => {
    const modules = await modulesOfRunMain(['--port', '0', '--host', '127.0.0.1', '--data-dir', mkdtempSync(join(dir, 'data-'))])
    expect(modules).toContain('src/broker/process/run-main.ts')
    expect(modules.filter((m) => m.startsWith('src/broker/process/'))).not.toContain('src/broker/process/workers.ts')
  })

  const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : f.endsWith('.ts') ? [join(d, f)] : []))

  it('node:tls and node:crypto load on first use, through src/broker/lazy-builtins.ts (cluster modules a plain broker never loads excepted)', () => {
    // subjects.ts is imported by the configuration's checks, so every broker and start's parent load it.
    const offenders = files(join(ROOT, 'src/broker'))
      .filter((f) => !f.includes('/src/broker/cluster/') || f.endsWith('/cluster/subjects.ts'))
      .filter((f) => /^import\s+(?!type\b)[^'"]*from\s+'node:(tls|crypto)'/m.test(readFileSync(f, 'utf8')))
    expect(offenders.map((f) => f.slice(ROOT.length))).toEqual([])
  })

  it('no Intl in the runtime sources (the broker, its process entry, its configuration)', () => {
    const offenders = ['src/broker', 'src/config'].flatMap((d) => files(join(ROOT, d))).filter((f) => /\bIntl\.|toLocale(String|DateString|TimeString)\(/.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')))
    expect(offenders).toEqual([])
  })
})
