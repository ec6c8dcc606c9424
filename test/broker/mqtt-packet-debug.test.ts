/** src/broker/mqtt-packet-debug.ts: mqtt-packet's `debug` inside the broker: silent and unloaded unless DEBUG is set. */
import {afterEach, describe, expect, it} from 'vitest'
import {mqttPacketDebug} from '../../src/broker/mqtt-packet-debug.js'

const saved = process.env.DEBUG
afterEach(() => {
  if (saved === undefined) delete process.env.DEBUG
  else process.env.DEBUG = saved
})

describe('mqttPacketDebug', () => {
  it('DEBUG unset: one shared function that does nothing, whatever the namespace', () => {
    delete process.env.DEBUG
    const a = mqttPacketDebug('mqtt-packet:parser')
    expect(a).toBe(mqttPacketDebug('mqtt-packet:generate'))
    expect(a('x', 1)).toBeUndefined()
  })

  it('DEBUG set: the debug package\'s own logger for the namespace', () => {
    delete process.env.DEBUG
    const silent = mqttPacketDebug('mqtt-packet:parser')
    process.env.DEBUG = 'mqtt-packet:*'
    const log = mqttPacketDebug('mqtt-packet:parser') as ((...args: unknown[]) => void) & {namespace?: string; extend?: unknown}
    expect(log).not.toBe(silent)
    expect(log.namespace).toBe('mqtt-packet:parser')
    expect(typeof log.extend).toBe('function') // a debug instance
  })
})
