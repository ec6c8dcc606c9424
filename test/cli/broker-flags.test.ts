import {describe, expect, it} from 'vitest'
import {brokerFlags, locateFlags} from '../../src/cli/broker-flags.js'
import {BROKER_OPTIONS} from '../../src/control/options.js'

describe('broker flags of mqttctl start: one per runtime option', () => {
  it('every runtime option is a start flag with the same name, --config and --data-dir first', () => {
    expect(Object.keys(brokerFlags)).toEqual(['config', 'data-dir', ...BROKER_OPTIONS.map((o) => o.flag).filter((f) => f !== 'data-dir')])
  })

  it('switches are booleans, everything else a string parsed later with the runtime\'s own messages', () => {
    for (const o of BROKER_OPTIONS) {
      if (o.flag === 'data-dir') continue
      const flag = brokerFlags[o.flag as keyof typeof brokerFlags]
      expect(flag.type).toBe(o.kind === 'bool' ? 'boolean' : 'option')
      expect(flag.description).toBe(o.help)
    }
  })

  it('the TLS options are grouped under TLS in --help', () => {
    const groups = Object.entries(brokerFlags).filter(([, f]) => f.helpGroup === 'TLS').map(([name]) => name)
    expect(groups).toEqual(BROKER_OPTIONS.filter((o) => o.flag.startsWith('tls-')).map((o) => o.flag))
  })

  it('stop and status locate the broker with the same --config and --data-dir', () => {
    expect(locateFlags).toEqual({config: brokerFlags.config, 'data-dir': brokerFlags['data-dir']})
  })
})
