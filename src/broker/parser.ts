/**
 * mqtt-packet's streaming Parser with the two checks it lacks: the maximum packet size is enforced
 * as soon as the fixed header is read (before buffering the body), and strings are strict UTF-8
 * without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2] (mqtt-packet decodes with toString('utf8'), which
 * silently replaces bad bytes, so a replacement character sends us back to the raw bytes).
 * Listeners are shared functions reading `owner`, so a parser costs no closures and can be pooled.
 */
import {createRequire} from 'node:module'
import type {Packet} from 'mqtt-packet'
import {isValidUtf8} from './protocol/topics.js'

const require = createRequire(import.meta.url)

interface RawParser {
  packet: {length: number; cmd?: string; protocolVersion?: number}
  settings: {protocolVersion?: number}
  error: Error | null
  _pos: number
  _list: {slice(start: number, end: number): Buffer}
  parse(buf: Buffer): number
  parser(opt?: object): unknown
  on(event: string, fn: (...args: never[]) => void): unknown
  _emitError(err: Error): void
  _resetState(): void
  _parseLength(): boolean
  _parseString(maybeBuffer?: boolean): string | null
}
type ParserClass = new () => RawParser
const Parser = require('mqtt-packet/parser.js') as ParserClass

export interface PacketSink {
  onPacket(packet: Packet): void
  onParseError(err: Error, parser: BrokerParser): void
}

function onPacket(this: BrokerParser, packet: Packet): void {
  this.owner?.onPacket(packet)
}

function onError(this: BrokerParser, err: Error): void {
  const owner = this.owner
  if (owner === undefined) return
  this.owner = undefined // the first error closes the connection; the rest is noise
  owner.onParseError(err, this)
}

function headerBytes(length: number): number {
  return 1 + (length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4)
}

export class BrokerParser extends Parser {
  owner: PacketSink | undefined
  maxPacketSize: number

  constructor(maxPacketSize: number) {
    super()
    this.parser({})
    this.maxPacketSize = maxPacketSize
    this.on('packet', onPacket as never)
    this.on('error', onError as never)
  }

  /** Ready for another connection (clientPool). */
  reset(maxPacketSize: number): void {
    this._resetState()
    this.settings = {}
    this.owner = undefined
    this.maxPacketSize = maxPacketSize
  }

  /** Protocol version of the CONNECT being parsed or accepted, 0 if unknown. */
  get protocolVersion(): number {
    return this.settings.protocolVersion ?? this.packet.protocolVersion ?? 0
  }

  override _parseLength(): boolean {
    const ok = super._parseLength()
    if (ok && this.packet.length + headerBytes(this.packet.length) > this.maxPacketSize) {
      this._emitError(new Error(`Packet too large: ${this.packet.length} bytes`))
      return false
    }
    return ok
  }

  override _parseString(maybeBuffer?: boolean): string | null {
    const start = this._pos + 2
    const s = super._parseString(maybeBuffer)
    if (s !== null && (s.includes('\uFFFD') || s.includes('\u0000'))) {
      if (s.includes('\u0000') || !isValidUtf8(this._list.slice(start, this._pos))) {
        this._emitError(new Error('Invalid UTF-8 string'))
        return null
      }
    }
    return s
  }
}
