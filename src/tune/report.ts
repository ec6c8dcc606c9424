/** Human output for `tune --check` and the `--apply` confirmation: tables, no logic. */
import chalk from 'chalk'
import {outputWidth, table, wrap} from '../cli/render.js'
import type {ApplyPlan} from './apply.js'
import type {CheckResult, CheckStatus} from './check.js'

function paint(status: CheckStatus): string {
  if (status === 'ok') return chalk.green(status)
  if (status === 'n/a' || status === 'not installed') return chalk.dim(status)
  return chalk.red(status)
}

export function renderCheck(result: CheckResult, width = outputWidth()): string {
  const rows = [['key', 'current', 'recommended', 'status'], ...result.rows.map((r) => [r.key, r.current, r.recommended, paint(r.status)])]
  // A note goes on its own wrapped line under its row, so the table stays as narrow as its figures.
  const lines = table(rows).split('\n')
  const out = [lines[0]]
  result.rows.forEach((r, i) => {
    out.push(lines[i + 1])
    if (r.note) out.push(chalk.dim(wrap(`(${r.note})`, width, '    ')))
  })
  const summary = result.ok
    ? `All ${result.rows.length} checks meet the ${result.tier} tier (kernel ${result.kernel}).`
    : `${result.short} of ${result.rows.length} checks fall short of the ${result.tier} tier (kernel ${result.kernel}). Fix: mqttctl tune --out DIR, then sudo DIR/apply.sh (or sudo mqttctl tune --apply).`
  return `${out.join('\n')}\n\n${wrap(summary, width)}`
}

export function renderApplyPlan(plan: ApplyPlan): string {
  const out: string[] = []
  if (plan.changes.length === 0) out.push('Kernel parameters: nothing to change.')
  else {
    out.push('Kernel parameters to change:')
    out.push(table(plan.changes.map((c) => [c.key, c.current, '->', c.next]), {indent: 2}))
  }
  for (const key of plan.skipped) out.push(`  skip ${key}: not on this kernel`)
  out.push('Files:')
  for (const f of plan.files) {
    out.push(`  ${f.action.padEnd(9)} ${f.dest}`)
    for (const line of f.diff) out.push(`      ${line.startsWith('-') ? chalk.red(line) : chalk.green(line)}`)
  }
  return out.join('\n')
}
