/**
 * Crash test through the real CLI: `mqttctl start --detach` (durable store, the default), publishers
 * send QoS 1 and QoS 2 at load to offline persistent subscribers, the broker is killed with SIGKILL
 * at a random moment, started again, several times. Then the subscribers come back: every message a
 * publisher got a PUBACK (QoS 1) or a PUBREC (QoS 2) for is delivered at least once, QoS 2 exactly
 * once. MQTT 3.1.1 and 5.0.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt, {type MqttClient, type Packet} from 'mqtt'
import {describe, expect, it} from 'vitest'
import {connect, durableBox, end, freePort, persistent, sleep, startDetached, until} from './helpers-durable.js'

const box = durableBox()

const KILLS = 3

describe.each([4, 5] as const)('kill -9 under QoS 1/2 load, MQTT %s', (version) => {
  it(
    `every PUBACKed / PUBRECed message survives ${KILLS} kills; QoS 2 exactly once`,
    async () => {
      const data = box.dir('mqttctl-crash-')
      const port = await freePort()
      const config = join(data, 'config.json')
      writeFileSync(config, JSON.stringify({limits: {maxQueuedMessages: 1_000_000, maxQueuedBytes: 1024 * 1024 * 1024}}))
      const session = persistent(version)
      let pid = await startDetached(box, data, port, '--config', config)

      // Two persistent subscribers, offline for the whole test.
      for (const [id, filter, qos] of [
        [`crash-q1-v${version}`, 'crash/q1/#', 1],
        [`crash-q2-v${version}`, 'crash/q2/#', 2],
      ] as const) {
        const s = await connect(port, {...session, clientId: id})
        await s.subscribeAsync(filter, {qos})
        await end(s, true)
      }

      const acked = {1: new Set<string>(), 2: new Set<string>()}
      let sent = 0
      for (let round = 1; round <= KILLS; round++) {
        const pubs: MqttClient[] = []
        for (const qos of [1, 2] as const) {
          for (let p = 0; p < 2; p++) {
            const c = await connect(port, {protocolVersion: version, clean: true, clientId: `crash-pub-${qos}-${p}-r${round}-v${version}`})
            // messageId -> payload of the PUBLISH in flight; an ack that is not an error marks it acknowledged.
            const inflight = new Map<number, string>()
            c.on('packetsend', (pk: Packet) => {
              if (pk.cmd === 'publish' && pk.qos > 0) inflight.set(pk.messageId!, String(pk.payload))
            })
            c.on('packetreceive', (pk: Packet) => {
              if ((pk.cmd === 'puback' && qos === 1) || (pk.cmd === 'pubrec' && qos === 2)) {
                const payload = inflight.get(pk.messageId!)
                if (payload !== undefined && ((pk as {reasonCode?: number}).reasonCode ?? 0) < 0x80) acked[qos].add(payload)
              }
            })
            c.on('error', () => {})
            pubs.push(c)
            // Keep publishing until the broker dies, at most 16 unfinished at a time: below the broker's
            // receive maximum (MQTT 5 closes a client that exceeds it with 0x93; MQTT.js does not hold back).
            let n = 0
            let open = 0
            let dead = false
            const pump = () => {
              if (!c.connected || dead) return
              while (n < 20_000 && open < 16) {
                const payload = `r${round}-p${p}-${n++}`
                sent++
                open++
                c.publish(`crash/q${qos}/${p}`, payload, {qos}, (err) => {
                  open--
                  if (err) dead = true // the broker is gone: stop counting publishes nobody will see
                })
              }
              setImmediate(pump)
            }
            pump()
          }
        }
        // A random moment under load, once both QoS have had acknowledgements (a busy host can take a while).
        const before = {1: acked[1].size, 2: acked[2].size}
        await until(() => acked[1].size > before[1] && acked[2].size > before[2], 30_000)
        await sleep(Math.floor(Math.random() * 500))
        process.kill(pid, 'SIGKILL')
        await Promise.all(pubs.map((c) => end(c, true)))
        pid = await startDetached(box, data, port, '--config', config)
      }
      expect(acked[1].size).toBeGreaterThan(0)
      expect(acked[2].size).toBeGreaterThan(0)

      // The subscribers return: everything acknowledged must arrive.
      const got = {1: new Map<string, number>(), 2: new Map<string, number>()}
      const subs: MqttClient[] = []
      for (const qos of [1, 2] as const) {
        const s = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, ...session, clientId: `crash-q${qos}-v${version}`})
        s.on('message', (_t, payload) => {
          const k = payload.toString()
          got[qos].set(k, (got[qos].get(k) ?? 0) + 1)
        })
        s.on('error', () => {})
        subs.push(s)
      }
      const missing = (q: 1 | 2) => [...acked[q]].filter((k) => !got[q].has(k))
      await until(() => missing(1).length === 0 && missing(2).length === 0, 60_000)
      // QoS 2 duplicates would come from the queue: a marker on each QoS 2 topic, published now, comes
      // after everything routed there before it (an Ordered Topic), so the queue has drained by then.
      const marker = await connect(port, {protocolVersion: version, clean: true, clientId: `crash-marker-v${version}`})
      const markers = ['marker-0', 'marker-1']
      for (const [p, m] of markers.entries()) await marker.publishAsync(`crash/q2/${p}`, m, {qos: 2})
      await end(marker)
      await until(() => markers.every((m) => got[2].has(m)), 30_000)
      for (const m of markers) {
        expect(got[2].get(m)).toBe(1)
        got[2].delete(m)
      }
      await Promise.all(subs.map((s) => end(s, true)))
      await box.cli(['stop', '--data-dir', data])

      const dupes2 = [...got[2]].filter(([, n]) => n > 1)
      console.log(
        `MQTT ${version}: sent ${sent}, acknowledged QoS 1 ${acked[1].size} / QoS 2 ${acked[2].size}; delivered QoS 1 ${got[1].size} / QoS 2 ${got[2].size}; missing ${missing(1).length} / ${missing(2).length}; QoS 2 duplicates ${dupes2.length}`,
      )
      expect(missing(1)).toEqual([])
      expect(missing(2)).toEqual([])
      expect(dupes2).toEqual([])
    },
    180_000,
  )
})
