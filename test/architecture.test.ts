/**
 * The import graph (issue 16): no cycle anywhere in src/ or commands/, and the broker imports nothing
 * from the CLI side, not even its process entry (rules: .dependency-cruiser.cjs). The second test proves
 * the check can fail: the same rules over a small tree with a cycle and forbidden imports.
 */
import {execFile} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {describe, expect, it} from 'vitest'
import {ARCHITECTURE_DOC, renderArchitecture} from '../scripts/architecture.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
const run = promisify(execFile)

async function cruise(cwd: string, paths: string[]): Promise<{code: number; output: string}> {
  try {
    const {stdout} = await run(process.execPath, [CRUISE, ...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {cwd, maxBuffer: 16 * 1024 * 1024})
    return {code: 0, output: stdout}
  } catch (error) {
    const e = error as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`}
  }
}

describe('architecture', () => {
  it('src/ and commands/ have no import cycle; the broker imports only node:*, packages, src/config, the node-only leaves and itself', async () => {
    const r = await cruise(ROOT, ['src', 'commands'])
    expect(r.output).toContain('no dependency violations found')
    expect(r.code).toBe(0)
  }, 60_000)

  it('the check fails on a cycle (type-only too), on a broker import from src/control (the process entry included) and on a leaf importing src/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttctl-arch-'))
    try {
      cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'))
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', strict: true}}))
      for (const d of ['src/broker/process', 'src/control']) mkdirSync(join(dir, d), {recursive: true})
      writeFileSync(join(dir, 'src/broker/a.ts'), "import type {B} from './b.js'\nexport interface A {b?: B}\n")
      writeFileSync(join(dir, 'src/broker/b.ts'), "import type {A} from './a.js'\nexport interface B {a?: A}\n")
      writeFileSync(join(dir, 'src/broker/c.ts'), "import {x} from '../control/x.js'\nexport const c = x\n")
      writeFileSync(join(dir, 'src/broker/main.ts'), "import {x} from '../control/x.js'\nexport const m = x\n")
      writeFileSync(join(dir, 'src/broker/process/run.ts'), "import {x} from '../../control/x.js'\nexport const r = x\n")
      writeFileSync(join(dir, 'src/broker/d.ts'), "import {f} from '../fs.js'\nexport const d = f\n")
      writeFileSync(join(dir, 'src/fs.ts'), "import {x} from './control/x.js'\nexport const f = x\n")
      writeFileSync(join(dir, 'src/control/x.ts'), 'export const x = 1\n')
      const r = await cruise(dir, ['src'])
      expect(r.code).not.toBe(0)
      expect(r.output).toMatch(/no-cycle: src\/broker\/a\.ts/)
      expect(r.output).toMatch(/broker-imports-only-config: src\/broker\/c\.ts → src\/control\/x\.ts/)
      expect(r.output).toMatch(/broker-imports-only-config: src\/broker\/main\.ts → src\/control\/x\.ts/) // no exception for the process entry
      expect(r.output).toMatch(/broker-imports-only-config: src\/broker\/process\/run\.ts → src\/control\/x\.ts/)
      expect(r.output).not.toMatch(/src\/broker\/d\.ts →/) // a node-only leaf is allowed
      expect(r.output).toMatch(/leaf-modules-import-only-node: src\/fs\.ts → src\/control\/x\.ts/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }, 60_000)
})

describe('docs/architecture.md', () => {
  const doc = readFileSync(join(ROOT, ARCHITECTURE_DOC), 'utf8')

  it('its module map is the current tree (else: node --import tsx scripts/architecture.ts --write)', () => {
    expect(doc, `${ARCHITECTURE_DOC} is stale: run node --import tsx scripts/architecture.ts --write`).toBe(renderArchitecture(doc))
  })

  it('its layout names every directory of src/, and every file path it mentions exists', () => {
    for (const entry of readdirSync(join(ROOT, 'src'), {withFileTypes: true})) {
      if (entry.isDirectory()) expect(doc, `src/${entry.name}/ is missing from the layout in ${ARCHITECTURE_DOC}`).toMatch(new RegExp(`\\b${entry.name}/`))
    }
    for (const [, path] of doc.matchAll(/`((?:src|test|scripts)\/[\w./-]+\.ts)`/g)) {
      expect(() => readFileSync(join(ROOT, path)), `${ARCHITECTURE_DOC} mentions ${path}, which does not exist`).not.toThrow()
    }
  })
})
