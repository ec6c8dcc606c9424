/**
 * Raw MQTT 3.1.1 clients for the sizing measurements (src/bench/measure.ts): hold N idle connections
 * with k subscriptions each (plain TCP or TLS), park offline sessions, and publish QoS 1 messages
 * counted by their PUBACKs. Pre-encoded with mqtt-packet, no client library state per connection, so
 * the generator stays small next to the broker it measures. Loopback only (the caller checks).
 */
import net from 'node:net'
import tls from 'node:tls'
import mqtt from 'mqtt-packet'

export interface HoldOptions {
  host: string
  port: number
  /** Connections to open. */
  count: number
  /** Subscriptions per connection (0: CONNECT only). */
  subs: number
  /** Client id and topic prefix; client i subscribes to `${prefix}/${i}/${j}`. */
  prefix: string
  /** false: a persistent session (clean session 0) that outlives the connection. */
  clean?: boolean
  /** QoS of the subscriptions. */
  qos?: 0 | 1 | 2
  tls?: boolean
  /** Attempts in flight at once. */
  concurrency?: number
  keepalive?: number
  /** Aborts the whole hold (time bound): open sockets are destroyed. */
  signal?: AbortSignal
}

export interface Held {
  sockets: (net.Socket | tls.TLSSocket)[]
  /** Closed by the broker (or errored) since they were opened. */
  closedByBroker(): number
  /** Sends DISCONNECT on each and closes it. */
  close(): Promise<void>
}

function hello(i: number, o: HoldOptions): Buffer {
  const connect = mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: o.clean ?? true, clientId: `${o.prefix}-${i}`, keepalive: o.keepalive ?? 300})
  if (o.subs === 0) return connect
  const subscriptions = Array.from({length: o.subs}, (_, j) => ({topic: `${o.prefix}/${i}/${j}`, qos: o.qos ?? 0}))
  return Buffer.concat([connect, mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions})])
}

/** CONNACK, then the SUBACK's bytes (fixed header with its length, packet id, one code per filter). */
function expected(subs: number): number {
  if (subs === 0) return 4
  const remaining = 2 + subs
  return 4 + 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : 3) + remaining
}

/** The first of `subs` filters a SUBACK (at the start of `b`) refused, with its return code (0x80 and above); null when all were granted. */
function refused(b: Buffer, subs: number): {filter: number; code: number} | null {
  let p = 1
  while (p < b.length && b[p] & 0x80) p++
  p += 3 // the last remaining-length byte and the packet id
  for (let j = 0; j < subs && p + j < b.length; j++) if (b[p + j] >= 0x80) return {filter: j, code: b[p + j]}
  return null
}

/** A refused subscription is not a held one: the error naming it, or null. */
function refusal(i: number, prefix: string, suback: Buffer, subs: number): Error | null {
  const r = refused(suback, subs)
  return r && new Error(`client ${i}: SUBACK refused ${prefix}/${i}/${r.filter} (return code 0x${r.code.toString(16)})`)
}

function openOne(i: number, o: HoldOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = o.tls ? tls.connect({port: o.port, host: o.host, rejectUnauthorized: false}) : net.connect({port: o.port, host: o.host})
    const want = expected(o.subs)
    let got = 0
    const chunks: Buffer[] = []
    const fail = (e: Error) => {
      clearTimeout(timer)
      s.destroy()
      reject(e)
    }
    const timer = setTimeout(() => fail(new Error(`client ${i}: no CONNACK${o.subs ? '/SUBACK' : ''} within 30 s`)), 30_000)
    s.once(o.tls ? 'secureConnect' : 'connect', () => s.write(hello(i, o)))
    const onData = (d: Buffer) => {
      if (got === 0 && d[0] === 0x20 && d.length >= 4 && d[3] !== 0) return fail(new Error(`client ${i}: CONNACK return code ${d[3]}`))
      got += d.length
      chunks.push(d)
      if (got >= want) {
        const e = o.subs > 0 ? refusal(i, o.prefix, Buffer.concat(chunks).subarray(4), o.subs) : null
        if (e) return fail(e)
        clearTimeout(timer)
        s.off('data', onData)
        s.off('close', onClose)
        s.on('data', () => {})
        resolve(s)
      }
    }
    // Closed by the broker before its answer (refused, or not MQTT on that port): fail now, not after 30 s.
    const onClose = () => fail(new Error(`client ${i}: connection closed before CONNACK${o.subs ? '/SUBACK' : ''}`))
    s.on('data', onData)
    s.once('close', onClose)
    s.once('error', fail)
  })
}

/** Opens `count` connections, `concurrency` at a time; rejects on the first failure (closing the rest). */
export async function hold(o: HoldOptions): Promise<Held> {
  const sockets: net.Socket[] = []
  let closed = 0
  let next = 0
  let failure: Error | undefined
  const worker = async () => {
    while (next < o.count && !failure) {
      if (o.signal?.aborted) {
        failure = new Error('stopped: time limit reached while connecting')
        return
      }
      const i = next++
      try {
        const s = await openOne(i, o)
        s.once('close', () => closed++)
        s.on('error', () => {})
        sockets.push(s)
      } catch (error) {
        failure ??= error as Error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(o.concurrency ?? 200, o.count)}, worker))
  if (failure) {
    for (const s of sockets) s.destroy()
    throw failure
  }
  const disconnect = Buffer.from([0xe0, 0x00])
  return {
    sockets,
    closedByBroker: () => closed,
    close: async () => {
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.destroyed) return resolve()
              s.once('close', () => resolve())
              s.end(disconnect)
              setTimeout(() => s.destroy(), 2000).unref()
            }),
        ),
      )
    },
  }
}

/**
 * Publishes QoS 1 messages from one connection and resolves once every PUBACK is back: `topics(i)`
 * names message i's topic. At most 60,000 messages (packet ids stay unique).
 */
export async function publishAcked(o: {host: string; port: number; clientId: string; count: number; payloadBytes: number; retain?: boolean; topic: (i: number) => string; signal?: AbortSignal}): Promise<void> {
  if (o.count > 60_000) throw new Error(`publishAcked: ${o.count} messages; at most 60,000`)
  const s = await openOne(0, {host: o.host, port: o.port, count: 1, subs: 0, prefix: o.clientId})
  const payload = Buffer.alloc(o.payloadBytes, 0x61)
  try {
    await new Promise<void>((resolve, reject) => {
      const want = o.count * 4
      let got = 0
      const timer = setTimeout(() => reject(new Error(`only ${got / 4} of ${o.count} PUBACKs within 60 s`)), 60_000)
      const abort = () => {
        clearTimeout(timer)
        reject(new Error('stopped: time limit reached while publishing'))
      }
      o.signal?.addEventListener('abort', abort, {once: true})
      s.on('data', (d: Buffer) => {
        got += d.length
        if (got >= want) {
          clearTimeout(timer)
          o.signal?.removeEventListener('abort', abort)
          resolve()
        }
      })
      const fail = (e: Error) => {
        clearTimeout(timer)
        o.signal?.removeEventListener('abort', abort)
        reject(e)
      }
      s.once('error', fail)
      // The broker closed the connection (a packet it refused): fail now, not after 60 s.
      s.once('close', () => fail(new Error(`the broker closed the connection after ${got / 4} of ${o.count} PUBACKs`)))
      const chunk: Buffer[] = []
      for (let i = 0; i < o.count; i++) {
        chunk.push(mqtt.generate({cmd: 'publish', topic: o.topic(i), payload, qos: 1, messageId: i + 1, retain: o.retain ?? false, dup: false}))
        if (chunk.length === 256 || i === o.count - 1) s.write(Buffer.concat(chunk.splice(0)))
      }
    })
  } finally {
    s.end(Buffer.from([0xe0, 0x00]))
    s.destroy()
  }
}

/**
 * `count` MQTT-over-WebSocket connections (subprotocol "mqtt", path /mqtt) with `subs` subscriptions
 * each, held open; the `ws` package's client, the one the broker's listener is built on.
 */
export async function holdWs(o: HoldOptions & {path?: string}): Promise<{count: number; closedByBroker(): number; close(): Promise<void>}> {
  const {WebSocket} = await import('ws')
  const url = `ws://${o.host}:${o.port}${o.path ?? '/mqtt'}`
  const open: InstanceType<typeof WebSocket>[] = []
  let closed = 0
  let next = 0
  let failure: Error | undefined
  const one = (i: number) =>
    new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
      const ws = new WebSocket(url, 'mqtt')
      const want = expected(o.subs)
      let got = 0
      const chunks: Buffer[] = []
      const timer = setTimeout(() => (ws.terminate(), reject(new Error(`WebSocket client ${i}: no CONNACK within 30 s`))), 30_000)
      const fail = (e: Error) => (clearTimeout(timer), ws.terminate(), reject(e))
      ws.on('open', () => ws.send(hello(i, o)))
      ws.on('message', (d: Buffer) => {
        // A refusal is not a held connection (as openOne above).
        if (got === 0 && d[0] === 0x20 && d.length >= 4 && d[3] !== 0) return fail(new Error(`WebSocket client ${i}: CONNACK return code ${d[3]}`))
        got += d.length
        chunks.push(d)
        if (got >= want) {
          const e = o.subs > 0 ? refusal(i, o.prefix, Buffer.concat(chunks).subarray(4), o.subs) : null
          if (e) return fail(e)
          clearTimeout(timer)
          ws.off('close', onClose)
          resolve(ws)
        }
      })
      const onClose = () => fail(new Error(`WebSocket client ${i}: connection closed before CONNACK`))
      ws.once('close', onClose)
      ws.on('error', fail)
    })
  const worker = async () => {
    while (next < o.count && !failure && !o.signal?.aborted) {
      const i = next++
      try {
        const ws = await one(i)
        ws.on('close', () => closed++)
        open.push(ws)
      } catch (error) {
        failure ??= error as Error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(o.concurrency ?? 100, o.count)}, worker))
  if (failure || o.signal?.aborted) {
    for (const ws of open) ws.terminate()
    throw failure ?? new Error('stopped: time limit reached while connecting')
  }
  return {
    count: open.length,
    closedByBroker: () => closed,
    close: async () => {
      for (const ws of open) ws.terminate()
    },
  }
}

/** Subscribes every held connection to `subs` more filters (`${prefix}/${i}/${j}`); resolves once every SUBACK is back. */
export async function subscribeHeld(held: Held, subs: number, prefix: string, qos: 0 | 1 | 2 = 0): Promise<void> {
  const want = expected(subs) - 4
  await Promise.all(
    held.sockets.map(
      (s, i) =>
        new Promise<void>((resolve, reject) => {
          let got = 0
          const chunks: Buffer[] = []
          const timer = setTimeout(() => reject(new Error(`client ${i}: no SUBACK within 30 s`)), 30_000)
          const onData = (d: Buffer) => {
            got += d.length
            chunks.push(d)
            if (got >= want) {
              clearTimeout(timer)
              s.off('data', onData)
              s.off('close', onClose)
              const e = refusal(i, prefix, Buffer.concat(chunks), subs)
              if (e) reject(e)
              else resolve()
            }
          }
          // Closed by the broker (a filter it refuses as malformed): fail now, not after 30 s.
          const onClose = () => (clearTimeout(timer), reject(new Error(`client ${i}: connection closed before SUBACK`)))
          s.on('data', onData)
          s.once('close', onClose)
          const subscriptions = Array.from({length: subs}, (_, j) => ({topic: `${prefix}/${i}/${j}`, qos}))
          s.write(mqtt.generate({cmd: 'subscribe', messageId: 2, subscriptions}))
        }),
    ),
  )
}
