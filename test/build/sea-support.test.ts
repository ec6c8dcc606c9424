/** src/build/sea.ts directly: whether a host's Node can become a single executable, and why not (buildSea itself: test/build/sea.test.ts). */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SEA_FUSE, SEA_INSTEAD, seaSupport} from '../../src/build/sea.js'

const dir = mkdtempSync(join(tmpdir(), 'mqttctl-seasup-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const binary = (name: string, content: string) => {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}
const withFuse = binary('node-with-fuse', `\u007fELF...${SEA_FUSE}:0...`)
const usedFuse = binary('node-used-fuse', `\u007fELF...${SEA_FUSE}:1...`)
const noFuse = binary('node-no-fuse', '\u007fELF plain')
const host = (over: Partial<{platform: string; version: string; execPath: string; variables: Record<string, unknown>}> = {}) => ({
  platform: over.platform ?? 'linux',
  version: over.version ?? 'v20.19.0',
  execPath: over.execPath ?? withFuse,
  config: {variables: over.variables ?? {single_executable_application: true, node_shared: false}},
})

describe('seaSupport', () => {
  it('a Linux Node >= 20.12 with an unused fuse and postject installed can', () => {
    expect(seaSupport(host())).toEqual({ok: true})
    expect(seaSupport(host({version: 'v20.12.0'}))).toEqual({ok: true})
    expect(seaSupport(host({version: 'v22.1.0', variables: {}}))).toEqual({ok: true})
  })

  it.each([
    [{platform: 'darwin'}, 'mqttctl builds single executables on Linux hosts only (this host is darwin; macOS and Windows need code-signing steps it does not do)'],
    [{platform: 'win32'}, 'mqttctl builds single executables on Linux hosts only (this host is win32; macOS and Windows need code-signing steps it does not do)'],
    [{version: 'v20.11.1'}, 'Node.js v20.11.1 has no usable single executable application support (needs >= 20.12)'],
    [{version: 'v18.20.0'}, 'Node.js v18.20.0 has no usable single executable application support (needs >= 20.12)'],
    [{variables: {single_executable_application: false}}, 'this Node.js v20.19.0 was built without single executable application support'],
    [{variables: {node_shared: true}}, 'this Node.js v20.19.0 is a shared-library build (libnode), which cannot become a single executable'],
    [{execPath: join(dir, 'missing-node')}, `cannot read this Node.js binary ${join(dir, 'missing-node')}`],
    [{execPath: dir}, `cannot read this Node.js binary ${dir}`],
    [{execPath: usedFuse}, `this Node.js binary ${usedFuse} has no unused SEA fuse (it is already a single executable, or was built without one)`],
    [{execPath: noFuse}, `this Node.js binary ${noFuse} has no unused SEA fuse (it is already a single executable, or was built without one)`],
  ])('%j: cannot, and says why in one sentence', (over, reason) => {
    expect(seaSupport(host(over))).toEqual({ok: false, reason})
  })

  it('this machine\'s own Node gets an answer either way, with a reason when it cannot', () => {
    const s = seaSupport()
    expect(typeof s.ok).toBe('boolean')
    if (!s.ok) expect(s.reason).toMatch(/\S/)
  })

  it('says what to do instead', () => {
    expect(SEA_INSTEAD).toMatch(/^build without --single-executable/)
  })
})
