/**
 * `mqttctl bench calibrate` (used by `plan --calibrate`): measures our broker on this host — memory
 * per connection and per subscription, CPU per message, broadcast time per 1,000 subscribers — and
 * stores it as the measured profile that `plan --profile measured` reads.
 */
import {hostname} from 'node:os'
import {defaultProfilePath, saveProfile, type MeasuredProfile} from '../sizing/profile.js'
import {packageVersion} from '../paths.js'
import {freePort} from '../net.js'
import {startOurs, type RunningBroker} from './brokers.js'
import {runBench} from './index.js'
import {normalize} from './options.js'
import {rssBytes} from './proc.js'

export interface CalibrateOptions {
  /** Idle connections used for the memory figures. */
  connections: number
  /** Where to store the profile; null = measure only. */
  profilePath: string | null
  log: (line: string) => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function withBroker<T>(fn: (b: RunningBroker) => Promise<T>): Promise<T> {
  const b = await startOurs({port: await freePort()})
  try {
    return await fn(b)
  } finally {
    await b.stop()
  }
}

/** RSS growth per connection while `n` connections (optionally subscribed) sit idle for 2 s. */
async function bytesPer(n: number, subscribe: boolean): Promise<number> {
  return withBroker(async (b) => {
    await sleep(300)
    const rss0 = rssBytes(b.pid) ?? 0
    let rss1 = 0
    const r = await runBench(normalize('conn', {port: b.port, clients: n, subscribe, topic: 'cal/%i', duration: 0.1, clientId: 'cal-%i'}), {
      ready: async () => {
        await sleep(2000)
        rss1 = rssBytes(b.pid) ?? 0
      },
    })
    if (r.connect.connected === 0) throw new Error(`calibration could not connect: ${Object.keys(r.errors.messages).join('; ')}`)
    return Math.max(0, Math.round((rss1 - rss0) / r.connect.connected))
  })
}

export async function calibrate(o: Partial<CalibrateOptions> = {}): Promise<MeasuredProfile> {
  const n = o.connections ?? 5000
  const log = o.log ?? (() => {})
  const path = o.profilePath === undefined ? defaultProfilePath() : o.profilePath
  log(`memory: ${n} idle connections…`)
  const perConn = await bytesPer(n, false)
  log(`memory: ${n} idle connections with one subscription each…`)
  const perSub = Math.max(0, (await bytesPer(n, true)) - perConn)
  log('CPU: 10 pairs at 20,000 msg/s for 3 s…')
  const cpuMicros = await withBroker(async (b) => {
    const r = await runBench(normalize('pubsub', {port: b.port, clients: 10, rate: 20_000, duration: 4, warmup: 1, topic: 'cal/p/%i', brokerPid: b.pid, window: 0}))
    const cpu = r.broker?.cpuPercent ?? null
    if (cpu === null || r.rates.receivedPerSecond === 0) throw new Error('calibration could not measure broker CPU (Linux /proc needed)')
    return Math.round(((cpu / 100) * 1e6 * 100) / r.rates.receivedPerSecond) / 100
  })
  log('broadcast: 1 message to 1,000 subscribers, 20 times…')
  const broadcastMs = await withBroker(async (b) => {
    const r = await runBench(normalize('fanout', {port: b.port, clients: 1000, topic: 'cal/b', interval: 50, count: 20, duration: 30}))
    const p50 = r.broadcasts?.completionMs?.p50
    if (p50 === undefined) throw new Error('calibration broadcast did not reach every subscriber')
    return p50
  })
  const profile: MeasuredProfile = {
    bytesPerConnection: perConn,
    bytesPerSubscription: perSub,
    broadcastMsPerThousand: broadcastMs,
    cpuMicrosPerMessage: cpuMicros,
    measuredAt: new Date().toISOString(),
    host: hostname(),
    brokerVersion: `mqttctl ${packageVersion()}`,
  }
  if (path) saveProfile(path, profile)
  return profile
}
