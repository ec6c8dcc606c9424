/**
 * mqtt-packet's Parser and generate(), loaded without the stream machinery the broker never uses.
 *
 * mqtt-packet (pinned; test/broker/parser.test.ts checks the internals we use) builds its Parser on
 * `bl`, whose main module is a readable-stream Duplex, and both halves call `debug`. Loading
 * mqtt-packet as published pulls in readable-stream (about 30 modules), bl's stream, debug, tty and
 * supports-color: 7 MB of RSS in a bare process, about 5 MB of an idle broker's 60 MB. The Parser only
 * uses bl's BufferList (append, consume, slice, readUInt8/16BE/32BE, toString, length), which bl ships
 * as its own stream-free module (bl/BufferList.js, the class its stream extends). So mqtt-packet's own
 * parser.js and generate.js run unchanged, with `bl` resolved to bl/BufferList.js and `debug` to
 * ./mqtt-packet-debug.ts (the real package when DEBUG is set).
 *
 * Two ways, one result:
 * - from dist/ or the sources, their require.cache entries are swapped for this one load and put back
 *   after it: the modules loaded here are fresh instances, and nothing else in the process (a test, the
 *   bench, which import mqtt-packet as published) sees the substitution;
 * - in a `mqttctl build` bundle there is no node_modules at run time: esbuild resolves the same two
 *   names the same way at bundle time (src/build/bundle.ts), and the swap is skipped.
 */
import {Module, createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import type {Packet} from 'mqtt-packet'
import {mqttPacketDebug} from './mqtt-packet-debug.js'

/** Set (esbuild `define`) only in a bundle built by src/build/bundle.ts. */
declare const __MQTTCTL_OPTIMIZE__: string | undefined

const require = createRequire(import.meta.url)

export interface MqttPacketModules {
  /** mqtt-packet's Parser class (parser.js). */
  Parser: unknown
  generate(packet: Packet, opts?: {protocolVersion?: number}): Buffer
  /** generate()'s writer: `cacheNumbers` switches its table of 65,536 two-byte buffers. */
  writeToStream: {cacheNumbers: boolean}
}

/** mqtt-packet's modules that capture `bl` or `debug` when they load: loaded fresh here. */
const FRESH = ['parser.js', 'generate.js', 'writeToStream.js']

function seeded(file: string, exports: unknown): Module {
  const m = new Module(file)
  m.filename = file
  m.exports = exports
  m.loaded = true
  return m
}

/** The swap described above (dist/ and sources). */
function loadSwapped(): MqttPacketModules {
  const main = require.resolve('mqtt-packet')
  const pkg = createRequire(main)
  const bl = pkg.resolve('bl')
  const debug = pkg.resolve('debug')
  const bufferList: unknown = createRequire(bl)(join(dirname(bl), 'BufferList.js'))
  const cache = require.cache
  const saved = new Map<string, NodeJS.Module | undefined>()
  const put = (file: string, m: Module | undefined) => {
    if (!saved.has(file)) saved.set(file, cache[file])
    if (m === undefined) delete cache[file]
    else cache[file] = m
  }
  try {
    put(bl, seeded(bl, bufferList))
    put(debug, seeded(debug, mqttPacketDebug))
    for (const f of FRESH) put(join(dirname(main), f), undefined)
    return {Parser: pkg('./parser.js'), generate: pkg('./generate.js'), writeToStream: pkg('./writeToStream.js')}
  } finally {
    for (const [file, m] of saved) {
      if (m === undefined) delete cache[file]
      else cache[file] = m
    }
  }
}

function load(): MqttPacketModules {
  if (typeof __MQTTCTL_OPTIMIZE__ === 'undefined') return loadSwapped()
  // In a bundle these requires are esbuild's, with `bl` and `debug` already resolved as above.
  return {Parser: require('mqtt-packet/parser.js'), generate: require('mqtt-packet/generate.js'), writeToStream: require('mqtt-packet/writeToStream.js')}
}

export const mqttPacket: MqttPacketModules = load()
// The first generate() would otherwise build 65,536 two-byte Buffers (6.3 MB of heap); the broker
// encodes only control packets with it (PUBLISH has its own encoder), where the cache saves nothing.
mqttPacket.writeToStream.cacheNumbers = false
