import {describe, expect, it} from 'vitest'
import {createLogger, formatLine, memoryLogger} from '../../../src/broker/log.js'

describe('logger', () => {
  it("writes the guide's [ISO-time] LEVEL: message shape", () => {
    expect(formatLine('info', 'Active Connections: 1 / 10', new Date('2025-10-24T14:30:00.123Z'))).toBe(
      '[2025-10-24T14:30:00Z] INFO: Active Connections: 1 / 10\n',
    )
  })

  it('drops lines below its level', () => {
    const log = memoryLogger('warn')
    log.debug('d')
    log.info('i')
    log.warn('w')
    log.error('e')
    expect(log.lines.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual(['WARN: w', 'ERROR: e'])
    expect(log.enabled('info')).toBe(false)
    expect(log.enabled('error')).toBe(true)
  })

  it('routes warn and error to the error writer level', () => {
    const seen: string[] = []
    const log = createLogger('debug', (_line, level) => seen.push(level))
    log.debug('a')
    log.error('b')
    expect(seen).toEqual(['debug', 'error'])
  })
})
