/**
 * Subscribers in their own process (so the OS shares the load core between them and the publishers
 * instead of one event loop starving its readers): argv = port count topic qos ('{i}' in topic is
 * the subscriber's index). Sends "ready" over IPC, answers "count" with the PUBLISH frames received.
 */
import {Client} from './load.js'

const [port, count, topic, qos] = process.argv.slice(2)
const subs: Client[] = []
for (let i = 0; i < Number(count); i++) {
  const c = await Client.open(Number(port), {ackQos1: qos === '1'})
  await c.subscribe(topic.replace('{i}', String(i)), Number(qos) as 0 | 1)
  subs.push(c)
}
process.on('message', (m) => {
  if (m === 'count') process.send?.({count: subs.reduce((n, s) => n + s.received, 0)})
})
process.on('disconnect', () => process.exit(0))
process.send?.('ready')
