/**
 * Measures for docs/security.md (not a test; timings are reported, never asserted):
 *
 *   USERS=20 node --import tsx bench/auth.ts connect [N] [CONCURRENCY]
 *     Reconnect storm with authentication: N clients CONNECT with a user name and password
 *     (CONCURRENCY at a time), CONNACK, DISCONNECT. Wave 1 is cold (every login hashed), waves 2-3
 *     are a fleet reconnecting with the credential cache warm. Against our broker (password file
 *     from `mqttctl passwd`, 210,000 PBKDF2 iterations) and Mosquitto 2.0 with its password file
 *     (mosquitto_passwd's default, 101 iterations), and our broker without a password file as the
 *     baseline. All run as separate processes on 127.0.0.1, one after another, twice.
 *
 *   node --import tsx bench/auth.ts ws-memory [N]
 *     RSS of our broker process per connection: N MQTT-over-WebSocket clients vs N TCP clients
 *     (each CONNECTed and subscribed to one topic), measured from /proc/<pid>/status after the
 *     connections settle.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect as netConnect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, type ResultPromise} from 'execa'
import mqttPacket from 'mqtt-packet'
import {WebSocket, createWebSocketStream} from 'ws'
import {hashPassword} from '../src/broker/auth/password-hash.js'
import {ourBrokerEntry} from '../src/bench/brokers.js'
import {freePort} from '../src/net.js'

const USERS = Number(process.env.USERS ?? 100)

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : Number.NaN
}

async function waitPort(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect({host: '127.0.0.1', port}, () => {
        s.destroy()
        r(true)
      })
      s.on('error', () => r(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Running {
  pid: number
  port: number
  wsPort?: number
  stop(): Promise<void>
}

async function startOurs(pwFile: string, dir: string, ws = false): Promise<Running> {
  const entry = ourBrokerEntry()!
  const port = await freePort()
  const wsPort = ws ? await freePort() : undefined
  const child: ResultPromise = execa(entry.cmd, [...entry.args, '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--log-level', 'error', '--max-connections', '100000', ...(pwFile ? ['--password-file', pwFile] : []), ...(wsPort ? ['--ws-port', String(wsPort)] : [])], {reject: false, stdio: ['ignore', 'ignore', 'inherit'], env: {MQTTCTL_PERSISTENCE: 'none'}})
  await waitPort(port)
  if (wsPort) await waitPort(wsPort)
  return {pid: child.pid!, port, wsPort, stop: async () => void (child.kill('SIGTERM'), await child)}
}

async function startMosquitto(pwFile: string, dir: string): Promise<Running> {
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, `password_file ${pwFile}`, 'allow_anonymous false', 'persistence false', 'max_connections -1', 'log_dest stderr', 'log_type error', ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'))
  const child: ResultPromise = execa('/usr/sbin/mosquitto', ['-c', conf], {reject: false, stdio: 'ignore'})
  await waitPort(port)
  return {pid: child.pid!, port, stop: async () => void (child.kill('SIGTERM'), await child)}
}

/** One CONNECT (user, password) -> CONNACK -> DISCONNECT; resolves with the return code. */
function login(port: number, i: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Socket = netConnect({host: '127.0.0.1', port})
    const parser = mqttPacket.parser({protocolVersion: 4})
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') {
        s.end(mqttPacket.generate({cmd: 'disconnect'}))
        resolve((p as {returnCode: number}).returnCode)
      }
    })
    s.on('data', (d) => parser.parse(d))
    s.on('error', reject)
    s.on('close', () => resolve(-1)) // closed without CONNACK (e.g. not answered within connectTimeout)
    s.on('connect', () => s.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: `bench-${i}`, username: `user${i % USERS}`, password: Buffer.from(`pw-${i % USERS}`)})))
  })
}

async function storm(port: number, n: number, concurrency: number): Promise<{rate: number; refused: number}> {
  let next = 0
  let refused = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (next < n) {
        const i = next++
        const code = await login(port, i)
        if (code !== 0) refused++
      }
    }),
  )
  return {rate: n / ((performance.now() - t0) / 1000), refused}
}

async function connectRate(n: number, concurrency: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bench-auth-'))
  try {
    const ours = join(dir, 'ours.passwd')
    const mosq = join(dir, 'mosq.passwd')
    const lines: string[] = []
    for (let u = 0; u < USERS; u++) lines.push(`user${u}:${hashPassword(Buffer.from(`pw-${u}`))}`)
    writeFileSync(ours, `${lines.join('\n')}\n`, {mode: 0o600})
    writeFileSync(mosq, '', {mode: 0o600})
    for (let u = 0; u < USERS; u++) await execa('mosquitto_passwd', ['-b', mosq, `user${u}`, `pw-${u}`])
    console.log(`connect storm: ${n} logins per wave, ${concurrency} at a time, ${USERS} users; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
    for (const round of [1, 2]) {
      for (const [name, start] of [
        ['ours (210,000 iterations, cache)', () => startOurs(ours, join(dir, `o${round}`))],
        ['mosquitto 2.0 (101 iterations)', () => startMosquitto(mosq, dir)],
        ['ours without a password file (baseline)', () => startOurs('', join(dir, `b${round}`))],
      ] as const) {
        const b = await start()
        const waves: string[] = []
        for (let w = 1; w <= 3; w++) {
          const r = await storm(b.port, n, concurrency)
          waves.push(`wave ${w}: ${Math.round(r.rate)}/s${r.refused ? ` (${r.refused} not accepted)` : ''}`)
        }
        console.log(`  round ${round} ${name}: ${waves.join(', ')}`)
        await b.stop()
      }
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function wsMemory(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bench-wsmem-'))
  const open: Array<{destroy(): void}> = []
  try {
    for (const kind of ['tcp', 'ws'] as const) {
      const b = await startOurs('', join(dir, kind), true)
      await new Promise((r) => setTimeout(r, 1000))
      const before = rssKb(b.pid)
      for (let i = 0; i < n; i++) {
        const stream = kind === 'tcp' ? netConnect({host: '127.0.0.1', port: b.port}) : createWebSocketStream(new WebSocket(`ws://127.0.0.1:${b.wsPort}/mqtt`, ['mqtt']))
        open.push(stream)
        const parser = mqttPacket.parser({protocolVersion: 4})
        await new Promise<void>((resolve, reject) => {
          parser.on('packet', (p) => {
            if (p.cmd === 'connack') stream.write(mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `mem/${i}`, qos: 0}]}))
            if (p.cmd === 'suback') resolve()
          })
          stream.on('data', (d: Buffer) => parser.parse(d))
          stream.on('error', reject)
          stream.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: `m-${kind}-${i}`}))
        })
      }
      await new Promise((r) => setTimeout(r, 3000))
      const after = rssKb(b.pid)
      console.log(`${kind}: ${n} connections, broker RSS ${Math.round(before / 1024)} MB -> ${Math.round(after / 1024)} MB: ${(((after - before) * 1024) / n / 1024).toFixed(1)} KB per connection`)
      for (const s of open.splice(0)) s.destroy()
      await b.stop()
    }
  } finally {
    for (const s of open) s.destroy()
    rmSync(dir, {recursive: true, force: true})
  }
}

const [mode, a, c] = process.argv.slice(2)
if (mode === 'connect') await connectRate(Number(a ?? 2000), Number(c ?? 50))
else if (mode === 'ws-memory') await wsMemory(Number(a ?? 2000))
else {
  console.error('usage: node --import tsx bench/auth.ts connect [N] [CONCURRENCY] | ws-memory [N]')
  process.exitCode = 2
}
