/** src/build/entry.ts (through test/build/entry-child.ts): the built broker's process entry, run as a child. */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {freePort, waitForPort} from '../../src/net.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const child = fileURLToPath(new URL('./entry-child.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'mqttctl-entry-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function run(args: string[], env: Record<string, string>) {
  const {MQTTCTL_VERSION: _v, MQTTCTL_ASSERT: _a, ...rest} = process.env
  return spawnSync(process.execPath, ['--import', 'tsx', child, ...args], {cwd: root, env: {...rest, ...env}, encoding: 'utf8', timeout: 30_000})
}
const envLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('entry-env '))

describe('the build entry', () => {
  it('--help: the broker\'s usage, exit 0; a "fast" bundle sets its version and no assertions', () => {
    const r = run(['--help'], {T_VERSION: '9.8.7', T_OPTIMIZE: 'fast'})
    expect(r.stdout).toContain('Usage: mqtt-broker')
    expect(r.status).toBe(0)
    expect(envLine(r.stderr)).toBe('entry-env version=9.8.7 assert=-')
  })

  it('a "safe" bundle sets no switch of its own (its source maps are not observable under tsx, which turns them on itself); a version in the environment wins over the bundle\'s', () => {
    const r = run(['--help'], {T_VERSION: '9.8.7', T_OPTIMIZE: 'safe', MQTTCTL_VERSION: '1.0.0-env'})
    expect(r.status).toBe(0)
    expect(envLine(r.stderr)).toBe('entry-env version=1.0.0-env assert=-')
  })

  it('a bad option exits 2 with one line naming it', () => {
    const r = run(['--port', 'nope'], {T_VERSION: '1', T_OPTIMIZE: 'fast'})
    expect(r.status).toBe(2)
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('entry-env '))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/--port.*nope/)
  })

  it('serves MQTT and exits 0 on SIGTERM (the exit code of runMain)', async () => {
    const port = await freePort()
    const {MQTTCTL_VERSION: _v, ...rest} = process.env
    const p = spawn(process.execPath, ['--import', 'tsx', child, '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--log-level', 'warn'], {cwd: root, env: {...rest, T_VERSION: '1', T_OPTIMIZE: 'fast'}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)))
    try {
      await waitForPort(port, 30_000, p)
      const connack = await new Promise<Buffer>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61])))
        s.once('data', (d) => (resolve(d), s.destroy()))
        s.once('error', reject)
      })
      expect([...connack]).toEqual([0x20, 0x02, 0x00, 0x00])
    } finally {
      p.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    expect(stderr).not.toMatch(/ERROR/)
  }, 40_000)
})
