/**
 * Per-connection heap growth between two snapshots, by (type, constructor name):
 *   node --max-old-space-size=4096 --import tsx bench/probe/heap-diff.ts BEFORE AFTER N
 */
import {readFileSync} from 'node:fs'

function summarise(file: string): Map<string, {size: number; count: number}> {
  const snap = JSON.parse(readFileSync(file, 'utf8'))
  const meta = snap.snapshot.meta
  const F = meta.node_fields.length
  const iType = meta.node_fields.indexOf('type')
  const iName = meta.node_fields.indexOf('name')
  const iSize = meta.node_fields.indexOf('self_size')
  const types: string[] = meta.node_types[0]
  const agg = new Map<string, {size: number; count: number}>()
  const {nodes, strings} = snap as {nodes: number[]; strings: string[]}
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]]
    const name = type.includes('string') ? '(string)' : type === 'code' || type === 'hidden' ? `(${type})` : strings[nodes[i + iName]].slice(0, 60)
    const key = `${type}:${name}`
    const e = agg.get(key) ?? {size: 0, count: 0}
    e.size += nodes[i + iSize]
    e.count++
    agg.set(key, e)
  }
  return agg
}

const [a, b, n] = process.argv.slice(2)
const before = summarise(a)
const after = summarise(b)
const N = Number(n)
let total = 0
const rows: Array<[string, number, number]> = []
for (const [k, v] of after) {
  const p = before.get(k) ?? {size: 0, count: 0}
  const ds = (v.size - p.size) / N
  total += ds
  rows.push([k, ds, (v.count - p.count) / N])
}
rows.sort((x, y) => y[1] - x[1])
for (const [k, s, c] of rows.slice(0, 30)) console.log(`${s.toFixed(0).padStart(7)} B ${c.toFixed(2).padStart(7)}  ${k}`)
console.log(`${total.toFixed(0).padStart(7)} B total per connection`)
