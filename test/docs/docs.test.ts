/**
 * The docs cannot drift from the code: the generated pages equal what `npm run docs` renders now,
 * docs/README.md links every page, every relative link in README.md and docs/ leads to a file, and the
 * README's prerequisite packages are exactly what .ci/run installs.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {anchor, COMMANDS_DOC, CONFIGURATION_DOC, commandsDoc, configurationDoc, OPERATIONS_DOC, operationsDoc, ROOT} from '../../scripts/docs.js'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const stale = (path: string) => `${path} is stale: run npm run docs (and commit the result)`

/** Relative link targets of a markdown text, without anchors; external links and pure anchors left out. */
function links(markdown: string): string[] {
  const out: string[] = []
  for (const m of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1].split('#')[0]
    if (target && !/^[a-z]+:/i.test(target)) out.push(target)
  }
  return out
}

/** Debian packages after `apt-get install` (options and redirections left out), in order of appearance. */
function aptPackages(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/apt-get install([^\n&|;>]*)/g)) {
    for (const word of m[1].trim().split(/\s+/)) if (word && !word.startsWith('-')) out.push(word)
  }
  return out
}

describe('generated pages', () => {
  it(`${COMMANDS_DOC} is every command's --help as it is now`, async () => {
    expect(read(COMMANDS_DOC) === (await commandsDoc()), stale(COMMANDS_DOC)).toBe(true)
  }, 60_000)

  it(`${CONFIGURATION_DOC} lists every configuration key with its default as the schema has it now`, () => {
    const current = read(CONFIGURATION_DOC)
    expect(current === configurationDoc(current), stale(CONFIGURATION_DOC)).toBe(true)
  })

  it(`${OPERATIONS_DOC} lists every $SYS topic and Prometheus metric the broker serves now`, () => {
    const current = read(OPERATIONS_DOC)
    expect(current === operationsDoc(current), stale(OPERATIONS_DOC)).toBe(true)
  })
})

describe('links', () => {
  it('docs/README.md links every docs/*.md page, and each linked page exists', () => {
    const index = read('docs/README.md')
    const linked = new Set(links(index))
    const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md')
    const unlisted = pages.filter((p) => !linked.has(p))
    expect(unlisted, `add a line for each of these to docs/README.md: ${unlisted.join(', ')}`).toEqual([])
    const missing = [...linked].filter((l) => l.endsWith('.md') && !existsSync(join(ROOT, 'docs', l)))
    expect(missing, `docs/README.md links pages that do not exist: ${missing.join(', ')}`).toEqual([])
  })

  it('every #anchor of a link within README.md and docs/*.md names a heading of its page', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    const headings = (file: string) => new Set(read(file).replace(/```[\s\S]*?```/g, '').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, ''))))
    const broken: string[] = []
    for (const f of files) {
      for (const m of read(f).replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]*#[^)\s]+)\)/g)) {
        const [path, hash] = m[1].split('#')
        if (/^[a-z]+:/i.test(path)) continue
        const target = path ? join(dirname(f), path) : f
        if (target.endsWith('.md') && existsSync(join(ROOT, target)) && !headings(target).has(`#${hash}`)) broken.push(`${f}: ${m[1]}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('every relative link in README.md and docs/*.md leads to a file', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    const broken = files.flatMap((f) => links(read(f)).filter((l) => !existsSync(resolve(ROOT, dirname(f), l))).map((l) => `${f}: ${l}`))
    expect(broken).toEqual([])
  })
})

describe('prerequisites', () => {
  it("README's apt-get line names exactly the Debian packages .ci/run installs", () => {
    const readme = read('README.md')
    const section = readme.slice(readme.indexOf('### Prerequisites'), readme.indexOf('### The two commands'))
    const documented = aptPackages(section)
    const installed = aptPackages(read('.ci/run'))
    expect(documented.length).toBeGreaterThan(0)
    expect(installed.length).toBeGreaterThan(0)
    expect(
      [...documented].sort(),
      `README.md "### Prerequisites" and .ci/run must name the same packages (README: ${documented.join(' ')}; .ci/run: ${installed.join(' ')})`,
    ).toEqual([...new Set(installed)].sort())
  })
})
