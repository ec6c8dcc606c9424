/**
 * The fuzzer's bystander as its own process: `bystander-child.ts PORT SEED HANG_MS`. Sends
 * "ready" over IPC once subscribed; on "stop" it stops publishing, waits for what is in flight and
 * answers {sent, received, lost, hangs, worstMs}, then exits.
 */
import {Bystander} from './run.js'

const [port, seed, hangMs] = process.argv.slice(2).map(Number)
const b = new Bystander(seed, hangMs)
await b.start(port)
process.send?.('ready')
process.on('message', async (m) => {
  if (m !== 'stop') return
  const lost = await b.stop()
  process.send?.({sent: b.sent, received: b.received, lost, hangs: b.hangs, worstMs: Math.round(b.worstMs)}, () => process.exit(0))
})
process.on('disconnect', () => process.exit(0))
