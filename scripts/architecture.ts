/**
 * The module map of docs/architecture.md, generated from the tree so it cannot drift: one row per
 * src/broker file with the first sentence of its header comment. test/architecture.test.ts renders
 * the same text and fails, saying how to refresh it, when the doc differs.
 *
 *   node --import tsx scripts/architecture.ts          # check (exit 1 when docs/architecture.md is stale)
 *   node --import tsx scripts/architecture.ts --write  # rewrite the map in docs/architecture.md
 */
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ARCHITECTURE_DOC = 'docs/architecture.md'
export const MAP_BEGIN = '<!-- GENERATED module map: node --import tsx scripts/architecture.ts --write -->'
export const MAP_END = '<!-- END GENERATED module map -->'

/** Every .ts file under `dir` (relative to the repository root), sorted. */
function tsFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...tsFiles(path))
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** The first sentence of the file's leading doc comment (after a shebang). */
export function summary(source: string): string {
  const m = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(source)
  if (!m) return ''
  const text = m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim())
    .filter((l) => l !== '')
    .join(' ')
  const end = text.search(/\.(\s|$)/)
  return (end === -1 ? text : text.slice(0, end + 1)).replace(/\|/g, '\\|')
}

/** The generated map: a table per directory of src/broker. */
export function moduleMap(): string {
  const files = tsFiles('src/broker')
  const byDir = new Map<string, string[]>()
  for (const f of files) {
    const dir = relative('src/broker', f).includes('/') ? relative('src/broker', f).split('/')[0] : '.'
    ;(byDir.get(dir) ?? byDir.set(dir, []).get(dir)!).push(f)
  }
  const lines: string[] = []
  for (const [dir, list] of [...byDir].sort(([a], [b]) => (a === '.' ? -1 : b === '.' ? 1 : a.localeCompare(b)))) {
    lines.push(`### ${dir === '.' ? 'src/broker' : `src/broker/${dir}`}`, '', '| Module | What it is |', '| --- | --- |')
    for (const f of list) lines.push(`| \`${relative('src/broker', f)}\` | ${summary(readFileSync(join(ROOT, f), 'utf8')) || '(no header comment)'} |`)
    lines.push('')
  }
  return lines.join('\n').trimEnd()
}

/** docs/architecture.md with its map section replaced by the current one. */
export function renderArchitecture(current: string): string {
  const start = current.indexOf(MAP_BEGIN)
  const end = current.indexOf(MAP_END)
  if (start === -1 || end === -1 || end < start) throw new Error(`${ARCHITECTURE_DOC}: the markers ${MAP_BEGIN} and ${MAP_END} are missing`)
  return `${current.slice(0, start + MAP_BEGIN.length)}\n\n${moduleMap()}\n\n${current.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(ROOT, ARCHITECTURE_DOC)
  const current = readFileSync(path, 'utf8')
  const next = renderArchitecture(current)
  if (process.argv.includes('--write')) {
    if (next !== current) writeFileSync(path, next)
    console.log(`${ARCHITECTURE_DOC}: module map ${next === current ? 'already current' : 'rewritten'}`)
  } else if (next !== current) {
    console.error(`${ARCHITECTURE_DOC}: the module map is stale; run node --import tsx scripts/architecture.ts --write`)
    process.exitCode = 1
  }
}
