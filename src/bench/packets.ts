/**
 * Packets encoded once with mqtt-packet; the hot loop only copies these bytes and stamps the
 * timestamp, sequence number and packet id in place (no client library per message).
 */
import mqtt from 'mqtt-packet'
import type {BenchOptions} from './options.js'

/** Byte offsets of the fields stamped per message. */
export interface PublishTemplate {
  frame: Buffer
  /** Where the 2-byte packet id sits (QoS > 0), else -1. */
  pidOffset: number
  /** Start of the payload: float64 LE microseconds (monotonic), then uint32 LE sequence. */
  payloadOffset: number
  /** `batch` frames back to back, copied whole into each write. */
  repeated: Buffer
}

const gen = (packet: mqtt.Packet, protocol: number): Buffer =>
  mqtt.generate(packet, {protocolVersion: protocol as 3 | 4 | 5})

export function connectPacket(o: BenchOptions, clientId: string, clean = true): Buffer {
  return gen(
    {
      cmd: 'connect',
      protocolId: o.protocol === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: o.protocol,
      clientId,
      clean,
      keepalive: o.keepalive,
      username: o.username,
      password: o.password === undefined ? undefined : Buffer.from(o.password),
    },
    o.protocol,
  )
}

export function subscribePacket(o: BenchOptions, filter: string, qos: 0 | 1 | 2, messageId = 1): Buffer {
  return gen({cmd: 'subscribe', messageId, subscriptions: [{topic: filter, qos}]}, o.protocol)
}

export function publishTemplate(o: BenchOptions, topic: string, batch: number, qos = o.qos): PublishTemplate {
  const payload = Buffer.alloc(o.size, 0x61)
  const frame = gen({cmd: 'publish', topic, payload, qos, retain: o.retain, dup: false, messageId: 1}, o.protocol)
  let i = 1
  while (frame[i] & 0x80) i++
  const topicEnd = i + 1 + 2 + Buffer.byteLength(topic)
  const pidOffset = qos > 0 ? topicEnd : -1
  const payloadOffset = frame.length - o.size
  const repeated = Buffer.allocUnsafe(frame.length * batch)
  for (let k = 0; k < batch; k++) frame.copy(repeated, k * frame.length)
  return {frame, pidOffset, payloadOffset, repeated}
}

export const PINGREQ = Buffer.from([0xc0, 0x00])
export const DISCONNECT = Buffer.from([0xe0, 0x00])

/** Monotonic microseconds shared by every process on the host (CLOCK_MONOTONIC). */
export function nowMicros(): number {
  const [s, ns] = process.hrtime()
  return s * 1e6 + ns / 1e3
}

/** Acknowledgement packets (4 bytes: type, remaining length 2, packet id). */
export function ack(type: 0x40 | 0x50 | 0x62 | 0x70, pid: number, into: Buffer, at: number): void {
  into[at] = type
  into[at + 1] = 2
  into[at + 2] = pid >> 8
  into[at + 3] = pid & 0xff
}
