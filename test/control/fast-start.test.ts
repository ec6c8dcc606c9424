/**
 * The oclif-free foreground `start` (bin/run.js → src/control/fast-start.ts): what it takes and
 * leaves to oclif, and that it behaves as `mqttctl start` does (same lines, exit codes, Ctrl-C).
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'
import {parseStartArgv, runForegroundLight} from '../../src/control/fast-start.js'
import {tsxImportUrl} from '../../src/control/runtime.js'
import {freePort, ROOT, Sandbox, waitFor} from './helpers.js'

const box = new Sandbox()
afterEach(() => box.cleanup())

/** fastStart(argv) in its own process, as bin/run.js runs it, from the sources. */
function fast(args: string[], env: Record<string, string> = {}) {
  const module = pathToFileURL(join(ROOT, 'src/control/fast-start.ts')).href
  const script = `const m = await import(${JSON.stringify(module)}); const code = await m.fastStart(${JSON.stringify(args)}); process.stdout.write(code === undefined ? 'OCLIF\\n' : ''); process.exit(code ?? 99)`
  const child = execa(process.execPath, ['--import', tsxImportUrl(), '--input-type=module', '-e', script], {reject: false, cwd: ROOT, env: {NO_COLOR: '1', ...env}, all: true})
  box.children.push(child)
  return child
}

describe('parseStartArgv: the fast path takes plain long flags only', () => {
  it('takes --flag value, --flag=value and boolean flags', () => {
    expect(parseStartArgv(['--port', '1884', '--host=127.0.0.1', '--metrics', '--config', 'b.json', '--runtime', './mqtt-broker'])).toEqual({port: '1884', host: '127.0.0.1', metrics: true, config: 'b.json', runtime: './mqtt-broker'})
    expect(parseStartArgv([])).toEqual({})
  })

  it.each([
    [['--detach']],
    [['--print-config']],
    [['--json']],
    [['--help']],
    [['-h']],
    [['-c', 'b.json']],
    [['--port', '1', '--port', '2']],
    [['--frobnicate']],
    [['--port']],
    [['--port', '--host']],
    [['--port=']],
    [['--metrics=true']],
    [['extra']],
    [['--', '--port', '1']],
  ])('%j: left to oclif', (argv) => {
    expect(parseStartArgv(argv)).toBeUndefined()
  })
})

describe('runForegroundLight', () => {
  it('a broker killed by a signal exits 128 + its number, as a shell reports it (SIGABRT, V8 out of memory: 134)', async () => {
    const runtime = {command: process.execPath, args: ['-e', "process.kill(process.pid, 'SIGABRT')"], description: 'a process that aborts'}
    expect(await runForegroundLight(runtime, [])).toBe(134)
    const segv = {...runtime, args: ['-e', "process.kill(process.pid, 'SIGSEGV')"]}
    expect(await runForegroundLight(segv, [])).toBe(139)
  })
})

describe('fastStart behaves as mqttctl start', () => {
  it('runs the broker in the foreground; Ctrl-C (SIGINT) stops it gracefully with exit 0', async () => {
    const port = await freePort()
    const data = join(box.dir(), 'data')
    const child = fast(['--host', '127.0.0.1', '--port', String(port), '--data-dir', data])
    let out = ''
    child.all!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    await waitFor('broker.json', () => existsSync(join(data, 'broker.json')))
    await waitFor('the listening line', () => out.includes(`Listening on 127.0.0.1:${port}`))
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(0)
    expect(out).toContain('received SIGINT: shutting down gracefully')
    expect(out).not.toContain('OCLIF')
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
  }, 60_000)

  it('a bad value: the same line and exit code as through oclif, nothing started', async () => {
    const viaFast = await fast(['--port', '99999', '--data-dir', join(box.dir(), 'd')])
    const viaOclif = await box.cli(['start', '--port', '99999', '--data-dir', join(box.dir(), 'd')], {entry: 'dev'})
    expect(viaFast.exitCode).toBe(2)
    expect(viaFast.exitCode).toBe(viaOclif.exitCode)
    expect(viaFast.stderr).toBe(viaOclif.stderr)
  }, 60_000)

  it('anything it does not take: returns undefined so bin/run.js hands over to oclif', async () => {
    const r = await fast(['--print-config'])
    expect(r.stdout).toBe('OCLIF')
    expect(r.exitCode).toBe(99)
  }, 60_000)
})
