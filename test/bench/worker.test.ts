/** src/bench/worker.ts (through test/bench/worker-child.ts): the forked generator's IPC protocol against a real broker. */
import {type ChildProcess, fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {slices} from '../../src/bench/index.js'
import {normalize} from '../../src/bench/options.js'
import type {PartResult, Progress} from '../../src/bench/types.js'
import {DEFAULT_CONFIG} from '../../src/config/schema.js'
import {startBroker, type StartedBroker} from '../helpers/broker.js'

const child = fileURLToPath(new URL('./worker-child.ts', import.meta.url))
type Msg = {type: 'ready' | 'progress' | 'result' | 'error'; progress?: Progress; part?: PartResult; message?: string}

let b: StartedBroker
const forked: ChildProcess[] = []
beforeAll(async () => {
  b = await startBroker({persistence: {...DEFAULT_CONFIG.persistence, mode: 'none'}})
})
afterAll(async () => {
  for (const c of forked) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await b?.close()
})

function start(): {c: ChildProcess; messages: Msg[]; next: (type: Msg['type']) => Promise<Msg>; exit: Promise<number | null>} {
  const c = fork(child, [], {execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  forked.push(c)
  const messages: Msg[] = []
  const waiters: {type: string; resolve: (m: Msg) => void}[] = []
  c.on('message', (m: Msg) => {
    messages.push(m)
    for (const w of waiters.filter((x) => x.type === m.type)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(m)
    }
  })
  const exit = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)))
  const next = (type: Msg['type']) => {
    const seen = messages.find((m) => m.type === type)
    return seen ? Promise.resolve(seen) : new Promise<Msg>((resolve) => waiters.push({type, resolve}))
  }
  return {c, messages, next, exit}
}

describe('bench worker', () => {
  it('start -> ready once connected (nothing sent yet) -> go -> its PartResult', async () => {
    const w = start()
    const o = normalize('pubsub', {port: b.port, clients: 2, count: 100, duration: 20, drainTimeout: 5, topic: 'wk/%i', clientId: 'wk-%i'})
    w.c.send({type: 'start', options: o, slice: slices(o)[0]})
    const ready = await w.next('ready')
    expect(ready.progress).toMatchObject({phase: 'connecting', connected: 4, sent: 0})
    w.c.send({type: 'go'})
    const result = await w.next('result')
    expect(result.part).toMatchObject({connected: 4, sent: 100, received: 100, errorCount: 0})
    w.c.disconnect()
    expect(await w.exit).toBe(0)
  }, 30_000)

  it('a run that throws is reported as an error message, not a crash', async () => {
    const w = start()
    w.c.send({type: 'start', options: {mode: 'pub'}, slice: {from: 0, to: 1, subFrom: 0, subTo: 0, publisher: true, rate: 0}})
    const error = await w.next('error')
    expect(error.message).toMatch(/\S/)
    w.c.send({type: 'stop'})
    expect(await w.exit).toBe(0)
  }, 30_000)

  it('exits when its parent goes away (IPC closed)', async () => {
    const w = start()
    w.c.disconnect()
    expect(await w.exit).toBe(0)
  }, 30_000)
})
