/** Every command's --json result has a type a script author can import: no run() returns Promise<unknown> or any. */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []))

describe('typed --json results', () => {
  it('no command (nor the bench base class) declares run(): Promise<unknown>, Promise<any> or an untyped run()', () => {
    const sources = [...files(join(root, 'commands')), join(root, 'src/cli/bench-command.ts')]
    const untyped = sources.filter((f) => /async run\(\)(: Promise<(unknown|any)>)?\s*\{/.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f))
    expect(untyped).toEqual([])
    expect(sources.length).toBeGreaterThan(10)
  })
})
