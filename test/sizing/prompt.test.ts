/**
 * src/sizing/prompt.ts with injected answers: @inquirer/prompts is replaced by a scripted user who
 * types each answer in turn, is shown the prompt's own validate() message for a refused one (as
 * inquirer does on Enter) and types the next; an empty answer takes the prompt's default.
 */
import {beforeEach, describe, expect, it, vi} from 'vitest'

interface Asked {
  message: string
  refused: string[]
}
const script = {inputs: [] as string[][], qos: 1 as 0 | 1 | 2, asked: [] as Asked[]}

vi.mock('@inquirer/prompts', () => ({
  input: async (q: {message: string; default?: string; validate?: (t: string) => true | string}) => {
    const tries = script.inputs.shift()
    if (!tries) throw new Error(`no scripted answer for "${q.message}"`)
    const asked: Asked = {message: q.message, refused: []}
    script.asked.push(asked)
    for (const typed of tries) {
      const value = typed === '' && q.default !== undefined ? q.default : typed
      const verdict = q.validate ? q.validate(value) : true
      if (verdict === true) return value
      asked.refused.push(verdict)
    }
    throw new Error(`every scripted answer to "${q.message}" was refused: ${asked.refused.join(' | ')}`)
  },
  select: async (q: {message: string; default?: unknown; choices: {value: unknown}[]}) => {
    script.asked.push({message: q.message, refused: []})
    expect(q.choices.map((c) => c.value)).toEqual([0, 1, 2])
    return script.qos
  },
}))

const {askWorkload} = await import('../../src/sizing/prompt.js')

beforeEach(() => {
  script.inputs = []
  script.asked = []
  script.qos = 1
})

describe('askWorkload', () => {
  it('reads the workload as the flags would (500k, 1,000, suffixes); empty answers take the defaults', async () => {
    script.inputs = [['500k'], [''], ['1,000'], ['']]
    script.qos = 2
    const w = await askWorkload()
    expect(w).toEqual({devices: 500_000, active: 500_000, msgRate: 1000, payload: 256, qos: 2})
    expect(script.asked.map((a) => a.message)).toEqual([
      'How many devices in the fleet?',
      'How many connected at once?',
      'Messages per second delivered to devices (empty: not known)?',
      'Payload bytes per message?',
      'QoS?',
    ])
  })

  it('an empty message rate means not known: no msgRate in the result', async () => {
    script.inputs = [['20000'], ['15k'], ['   '], ['64']]
    script.qos = 0
    expect(await askWorkload()).toEqual({devices: 20_000, active: 15_000, payload: 64, qos: 0})
  })

  it('a bad answer shows the flag\'s one-line message and asks again', async () => {
    script.inputs = [['abc', '0', '2e8', '1000'], ['1001', '-1', '999'], ['lots', '50'], ['300000000', '128']]
    const w = await askWorkload()
    expect(w).toEqual({devices: 1000, active: 999, msgRate: 50, payload: 128, qos: 1})
    const [devices, active, rate, payload] = script.asked
    expect(devices.refused).toEqual([
      '--devices "abc" is not a number; allowed: a whole number of devices from 1 to 100,000,000 (e.g. 50000, 50,000 or 50k)',
      '--devices "0" is too small; allowed: a whole number of devices from 1 to 100,000,000',
      '--devices "2e8" is too large; allowed: a whole number of devices from 1 to 100,000,000',
    ])
    expect(active.refused).toEqual(['at most 1,000, the fleet size', expect.stringMatching(/^--active "-1" is too small; allowed: /)])
    expect(rate.refused).toEqual([expect.stringMatching(/^--msg-rate "lots" is not a number; /)])
    expect(payload.refused).toEqual([expect.stringMatching(/^--payload "300000000" is too large; allowed: a whole number of bytes from 0 to 268,435,455/)])
  })
})
