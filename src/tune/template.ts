/**
 * The only place that reads templates/: `{{name}}` placeholders, filled strictly. A placeholder
 * without a value, or a value nobody asked for, is a programming error and throws, so a renamed
 * variable can never leave `{{...}}` in a generated script.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {templatesDir} from './paths.js'

const PLACEHOLDER = /\{\{\s*([a-zA-Z][a-zA-Z0-9]*)\s*\}\}/g

export function fill(template: string, vars: Record<string, string>, name = 'template'): string {
  const used = new Set<string>()
  const out = template.replace(PLACEHOLDER, (_m, key: string) => {
    if (!(key in vars)) throw new Error(`${name}: no value for {{${key}}}`)
    used.add(key)
    return vars[key]
  })
  const unused = Object.keys(vars).filter((k) => !used.has(k))
  if (unused.length > 0) throw new Error(`${name}: values given but not used: ${unused.join(', ')}`)
  return out
}

/** Reads templates/<relative> and fills it. */
export function renderTemplate(relative: string, vars: Record<string, string>): string {
  return fill(readFileSync(join(templatesDir(), relative), 'utf8'), vars, relative)
}
