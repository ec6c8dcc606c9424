/**
 * Writes two heap snapshots of our broker: before and with N idle clients (one SUBSCRIBE each), for
 * heap-top.ts.  node --import tsx bench/probe/heap-idle.ts [N] [outdir]
 */
import net from 'node:net'
import mqtt from 'mqtt-packet'
import {sleep, startBroker} from './procs.js'

const N = Number(process.argv[2] ?? 2000)
const out = process.argv[3] ?? '/tmp'
const broker = await startBroker('mqttctl')
const snap = (path: string): Promise<void> =>
  new Promise((resolve) => {
    broker.child!.once('message', () => resolve())
    broker.child!.send(`snap:${path}`)
  })
await sleep(300)
await broker.gc()
await snap(`${out}/idle-0.heapsnapshot`)
const sockets: net.Socket[] = []
for (let i = 0; i < N; i++) {
  sockets.push(
    await new Promise<net.Socket>((resolve) => {
      const s = net.connect({port: broker.port, host: '127.0.0.1'}, () => {
        s.write(mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `h-${i}`, keepalive: 60}))
        s.write(mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `idle/${i}/state`, qos: 0}]}))
      })
      let got = 0
      s.on('data', (d) => {
        got += d.length
        if (got >= 9) resolve(s)
      })
    }),
  )
}
await sleep(500)
await broker.gc()
await snap(`${out}/idle-${N}.heapsnapshot`)
for (const s of sockets) s.destroy()
await broker.stop()
console.log(`${out}/idle-0.heapsnapshot ${out}/idle-${N}.heapsnapshot`)
