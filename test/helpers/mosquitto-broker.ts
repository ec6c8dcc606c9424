/**
 * Debian's Mosquitto broker (/usr/sbin/mosquitto) on an ephemeral 127.0.0.1 port with a config file
 * in a temp dir, for compatibility tests of our files against Mosquitto itself. Started and stopped
 * by pid. A missing binary fails with the install hint (CI installs the mosquitto package).
 */
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {freePort} from '../../src/net.js'

export const MOSQUITTO = '/usr/sbin/mosquitto'

export interface RunningMosquitto {
  port: number
  pid: number
  stderr(): string
  stop(): Promise<void>
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({host: '127.0.0.1', port}, () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })
}

/** Starts Mosquitto with `lines` added to a config that listens on a free port. */
export async function startMosquittoWith(lines: string[]): Promise<RunningMosquitto> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is not installed: apt-get install -y mosquitto (required, not optional)`)
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-mosq-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  // As root Mosquitto would switch to the mosquitto user and could not read 0600 files made by root.
  const user = process.getuid?.() === 0 ? ['user root'] : []
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ...user, ...lines, ''].join('\n'))
  const child = execa(MOSQUITTO, ['-c', conf], {reject: false, buffer: false, stdin: 'ignore'})
  let err = ''
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM')
    await child
    rmSync(dir, {recursive: true, force: true})
  }
  const deadline = Date.now() + 10_000
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`mosquitto did not start: ${err}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {port, pid: child.pid!, stderr: () => err, stop}
}
