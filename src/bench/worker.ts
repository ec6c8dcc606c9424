/**
 * Entry of a forked generator worker: receives its options and slice over IPC, reports 'ready' once
 * its clients are connected, starts the load on 'go', streams progress and sends its PartResult.
 */
import {Runner, type Slice} from './runner.js'
import type {BenchOptions} from './options.js'

type FromParent = {type: 'start'; options: BenchOptions; slice: Slice} | {type: 'go'} | {type: 'stop'}

let go: (() => void) | undefined
const send = (m: unknown) => process.send?.(m)

process.on('message', (m: FromParent) => {
  if (m.type === 'go') go?.()
  else if (m.type === 'stop') process.exit(0)
  else if (m.type === 'start') void start(m.options, m.slice)
})
process.on('disconnect', () => process.exit(0))

async function start(options: BenchOptions, slice: Slice): Promise<void> {
  const runner = new Runner(options, slice)
  const timer = setInterval(() => send({type: 'progress', progress: runner.progress()}), 250)
  try {
    const part = await runner.run({
      ready: () =>
        new Promise<void>((resolve) => {
          go = resolve
          send({type: 'ready', progress: runner.progress()})
        }),
    })
    clearInterval(timer)
    send({type: 'result', part})
  } catch (e) {
    send({type: 'error', message: (e as Error).message})
  }
  clearInterval(timer)
}
