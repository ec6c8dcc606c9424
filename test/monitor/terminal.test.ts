import {EventEmitter} from 'node:events'
import {describe, expect, it} from 'vitest'
import {ANSI, frame, Screen} from '../../src/monitor/terminal.js'

class FakeOut extends EventEmitter {
  written = ''
  columns = 20
  rows = 10
  write(s: string) {
    this.written += s
    return true
  }
}

class FakeIn extends EventEmitter {
  isTTY = true
  raw: boolean[] = []
  paused = true
  setRawMode(mode: boolean) {
    this.raw.push(mode)
  }
  resume() {
    this.paused = false
  }
  pause() {
    this.paused = true
  }
}

describe('terminal', () => {
  it('redraws in place: home, each line cleared to its end, clear below; long lines cut', () => {
    expect(frame(['ab', 'cdef'], 3)).toBe(`${ANSI.home}ab${ANSI.clearLine}\ncde\u001B[0m${ANSI.clearLine}\n${ANSI.clearBelow}`)
    expect(frame(['\u001B[1mbold\u001B[22m'], 10)).toBe(`${ANSI.home}\u001B[1mbold\u001B[22m${ANSI.clearLine}\n${ANSI.clearBelow}`)
    // Never scrolls: at most rows - 1 lines.
    expect(frame(['1', '2', '3'], 10, 3).split('\n').length).toBe(3)
  })

  it('quits on q or Ctrl-C and restores the terminal', () => {
    const out = new FakeOut()
    const input = new FakeIn()
    const screen = new Screen(out, input)
    let quits = 0
    screen.start(() => quits++)
    expect(out.written).toBe(ANSI.altScreenOn + ANSI.hideCursor)
    expect(input.raw).toEqual([true])
    screen.draw(['hello'])
    expect(out.written.endsWith(frame(['hello'], 20, 10))).toBe(true)
    input.emit('data', Buffer.from('x'))
    input.emit('data', Buffer.from('q'))
    input.emit('data', Buffer.from('\u0003'))
    expect(quits).toBe(2)
    out.emit('resize')
    expect(out.written.split(ANSI.home).length).toBe(3)
    screen.stop()
    expect(input.raw).toEqual([true, false])
    expect(input.paused).toBe(true)
    expect(out.written.endsWith(ANSI.showCursor + ANSI.altScreenOff)).toBe(true)
    expect(input.listenerCount('data')).toBe(0)
    expect(out.listenerCount('resize')).toBe(0)
  })
})
