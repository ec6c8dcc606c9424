/**
 * The broker's one mqtt-packet Parser, shared by every connection: the decoder (./decoder.ts) hands
 * it one complete frame at a time, so it never holds bytes between calls and costs nothing per
 * connection (a Parser is an EventEmitter plus a BufferList: about 1 KB of heap each).
 * It adds the check mqtt-packet lacks: strings are strict UTF-8 without U+0000 [MQTT-1.5.4-1]
 * [MQTT-1.5.4-2] (mqtt-packet decodes with toString('utf8'), which silently replaces bad bytes, so a
 * replacement character sends us back to the raw bytes). mqtt-packet's parser.js comes from
 * ./mqtt-packet.ts: as published, minus bl's stream and debug.
 */
import type {Packet} from 'mqtt-packet'
import {mqttPacket} from './mqtt-packet.js'
import {isValidUtf8} from './protocol/topics.js'

interface RawParser {
  packet: {length: number; cmd?: string; protocolVersion?: number}
  settings: {protocolVersion?: number}
  error: Error | null
  _pos: number
  _list: {length: number; slice(start: number, end: number): Buffer}
  parse(buf: Buffer): number
  parser(opt?: object): unknown
  on(event: string, fn: (...args: never[]) => void): unknown
  _emitError(err: Error): void
  _resetState(): void
  _parseString(maybeBuffer?: boolean): string | null
}
type ParserClass = new () => RawParser
const Parser = mqttPacket.Parser as ParserClass

/** What one frame decoded to: a packet, or an error with what was known of the packet. */
export type FrameResult = {packet: Packet; error?: undefined} | {packet?: undefined; error: Error; cmd: string | undefined; protocolVersion: number}

function onPacket(this: FrameParser, packet: Packet): void {
  this.last = packet
}

function onError(this: FrameParser, err: Error): void {
  this.lastError ??= err // the first error is the one that counts
}

export class FrameParser extends Parser {
  last: Packet | undefined
  lastError: Error | undefined

  constructor() {
    super()
    this.parser({})
    this.on('packet', onPacket as never)
    this.on('error', onError as never)
  }

  /** Decodes exactly one complete frame for a connection of protocol level `version` (0 = before CONNECT). */
  decode(frame: Buffer, version: number): FrameResult {
    this.settings = {protocolVersion: version === 0 ? 4 : version} // CONNECT replaces it with itself
    this.last = undefined
    this.lastError = undefined
    this.parse(frame)
    const packet = this.last
    const error = this.lastError ?? (packet === undefined ? new Error('Packet too short') : undefined)
    if (error !== undefined || this._list.length !== 0) {
      const {cmd, protocolVersion} = this.packet
      this._resetState()
      this._pos = 0 // _resetState leaves it, and _parseLength reads it: a stale offset breaks the next frame
      this.last = undefined
      if (error !== undefined) return {error, cmd, protocolVersion: protocolVersion ?? 0}
    }
    this.last = undefined
    return {packet: packet!}
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
