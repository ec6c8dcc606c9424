/**
 * Runs a built bin/mqtt-broker as an operator would: its own process, a working directory outside the
 * repository, an environment without NODE_PATH or the repository's node_modules. Then a real MQTT.js
 * client publishes and receives one message, and SIGTERM stops it.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'
import mqtt from 'mqtt'

export interface Running {
  child: ChildProcess
  port: number
  output: () => string
  /** SIGTERM and the exit code. */
  stop: () => Promise<number | null>
}

export async function startArtifact(bin: string, args: string[], options: {cwd: string; path: string}): Promise<Running> {
  const child = spawn(bin, args, {cwd: options.cwd, env: {PATH: options.path, HOME: options.cwd}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('error', reject)
    exited.then(([code]) => reject(new Error(`broker exited with ${code} before listening:\n${out}`)), reject)
  })
  return {
    child,
    port,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      const [code] = await exited
      return code
    },
  }
}

/** Subscribe, publish at QoS 1, receive it back: the payload received. */
export async function roundTrip(port: number, topic = 'fleet/device-1/state', payload = 'online'): Promise<string> {
  const client = await mqtt.connectAsync({host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0, clientId: 'build-test'})
  try {
    const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())))
    await client.subscribeAsync(topic, {qos: 1})
    await client.publishAsync(topic, payload, {qos: 1})
    return await got
  } finally {
    await client.endAsync()
  }
}
