/**
 * Summarises a .heapsnapshot: self size and count per (type, constructor name), top 30.
 *   node --max-old-space-size=4096 --import tsx bench/probe/heap-top.ts FILE [divisor]
 */
import {readFileSync} from 'node:fs'

const [file, div = '1'] = process.argv.slice(2)
const snap = JSON.parse(readFileSync(file, 'utf8'))
const meta = snap.snapshot.meta
const fields: string[] = meta.node_fields
const types: string[] = meta.node_types[0]
const F = fields.length
const iType = fields.indexOf('type')
const iName = fields.indexOf('name')
const iSize = fields.indexOf('self_size')
const nodes: number[] = snap.nodes
const strings: string[] = snap.strings
const agg = new Map<string, {size: number; count: number}>()
for (let i = 0; i < nodes.length; i += F) {
  const type = types[nodes[i + iType]]
  let name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(string)' : strings[nodes[i + iName]]
  if (type === 'code' || type === 'hidden') name = `(${type})`
  const key = `${type}:${name.slice(0, 60)}`
  const e = agg.get(key) ?? {size: 0, count: 0}
  e.size += nodes[i + iSize]
  e.count++
  agg.set(key, e)
}
const d = Number(div)
const rows = [...agg.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, 40)
for (const [k, v] of rows) console.log(`${String(Math.round(v.size / d)).padStart(8)} B  ${String((v.count / d).toFixed(2)).padStart(8)}  ${k}`)
