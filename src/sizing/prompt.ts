/** `mqttctl plan` with no --devices in a terminal: ask for the workload, checked as the flags are. */
import {input, select} from '@inquirer/prompts'
import {formatInt} from '../cli/render.js'
import type {Qos} from './capacity.js'
import {ASSUMED} from './guide.js'
import {parseDevices} from './parse.js'
import {type PlanInput, parseWorkloadFlag} from './workload.js'

/** An inquirer `validate`: true, or the one-line message the flag would give. */
function check(parse: (text: string) => unknown): (text: string) => true | string {
  return (text) => {
    try {
      parse(text)
      return true
    } catch (error) {
      return (error as Error).message
    }
  }
}

export async function askWorkload(): Promise<PlanInput> {
  const devices = parseDevices(await input({message: 'How many devices in the fleet?', validate: check(parseDevices)}))
  const activeText = await input({
    message: 'How many connected at once?',
    default: String(devices),
    validate: check((t) => {
      if (parseWorkloadFlag('active', t) > devices) throw new Error(`at most ${formatInt(devices)}, the fleet size`)
    }),
  })
  const rateText = await input({message: 'Messages per second delivered to devices (empty: not known)?', validate: check((t) => t.trim() === '' || parseWorkloadFlag('msgRate', t))})
  const payloadText = await input({message: 'Payload bytes per message?', default: String(ASSUMED.payloadBytes), validate: check((t) => parseWorkloadFlag('payload', t))})
  const qos = await select<Qos>({
    message: 'QoS?',
    default: ASSUMED.qos,
    choices: [
      {name: '0  at most once', value: 0},
      {name: '1  at least once', value: 1},
      {name: '2  exactly once', value: 2},
    ],
  })
  const result: PlanInput = {devices, active: parseWorkloadFlag('active', activeText), payload: parseWorkloadFlag('payload', payloadText), qos}
  if (rateText.trim() !== '') result.msgRate = parseWorkloadFlag('msgRate', rateText)
  return result
}
