/** src/tune/render-macos.ts directly: the maxfiles LaunchDaemon (checked as XML) and its install script. */
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {MACOS_DIFFERENCES, MACOS_LABEL, macosFiles, macosLimits} from '../../src/tune/render-macos.js'

const opts = (name: 'small' | 'medium' | 'large') => {
  const tier = tierByName(name)
  return {o: {os: 'macos' as const, tier, installDir: '/opt/mqtt-broker', user: 'mqtt-broker'}, base: {tier}}
}

describe('macosLimits', () => {
  it('maxfiles is the tier\'s open files; the kernel ceilings twice that', () => {
    for (const name of ['small', 'medium', 'large'] as const) {
      const {o} = opts(name)
      expect(macosLimits(o)).toEqual({maxfiles: o.tier.os.openFiles, kernMaxfiles: 2 * o.tier.os.openFiles})
    }
  })
})

describe('macosFiles', () => {
  it('a well-formed plist (python\'s XML parser) with the label and the limits, and no "--" inside its comment', () => {
    const {o, base} = opts('medium')
    const [plist] = macosFiles(o, base)
    expect(plist.path).toBe(`${MACOS_LABEL}.plist`)
    const {maxfiles, kernMaxfiles} = macosLimits(o)
    expect(plist.content).toContain(`<string>${MACOS_LABEL}</string>`)
    expect(plist.content).toContain(`kern.maxfiles=${kernMaxfiles} kern.maxfilesperproc=${maxfiles} &amp;&amp; /bin/launchctl limit maxfiles ${maxfiles} ${maxfiles}`)
    const comment = /<!--([\s\S]*?)-->/.exec(plist.content)![1]
    expect(comment).not.toContain('--')
    for (const d of MACOS_DIFFERENCES) expect(comment).toContain(d.replaceAll('--', '- -'))
    const parsed = spawnSync('python3', ['-c', 'import sys, plistlib; d = plistlib.loads(sys.stdin.buffer.read()); print(d["Label"], d["ProgramArguments"][2], d["RunAtLoad"])'], {input: plist.content, encoding: 'utf8'})
    expect(parsed.stderr).toBe('')
    expect(parsed.stdout.trim()).toBe(`${MACOS_LABEL} /usr/sbin/sysctl -w kern.maxfiles=${kernMaxfiles} kern.maxfilesperproc=${maxfiles} && /bin/launchctl limit maxfiles ${maxfiles} ${maxfiles} True`)
  })

  it('the install script is executable, names the label and limit, and passes sh -n', () => {
    const {o, base} = opts('small')
    const [, script] = macosFiles(o, base)
    expect(script).toMatchObject({path: 'install-macos.sh', mode: 0o755})
    expect(script.content).toContain(MACOS_LABEL)
    expect(script.content).toContain(String(macosLimits(o).maxfiles))
    const r = spawnSync('sh', ['-n'], {input: script.content, encoding: 'utf8'})
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('only the large tier adds that macOS is a development platform', () => {
    const note = 'macOS is a development platform here'
    const large = opts('large')
    expect(macosFiles(large.o, large.base).every((f) => f.content.includes(note))).toBe(true)
    for (const name of ['small', 'medium'] as const) {
      const {o, base} = opts(name)
      expect(macosFiles(o, base).some((f) => f.content.includes(note)), name).toBe(false)
    }
  })
})
