/** Human output for `doctor`: one row per check with its fix. */
import chalk from 'chalk'
import {formatInt, table} from '../cli/render.js'
import type {DoctorReport, DoctorStatus} from './types.js'

const PAINT: Record<DoctorStatus, (s: string) => string> = {pass: chalk.green, warn: chalk.yellow, fail: chalk.red}

export function renderDoctor(report: DoctorReport): string {
  const rows: string[][] = [['status', 'check', 'found']]
  for (const c of report.checks) {
    rows.push([PAINT[c.status](c.status), c.name, c.detail])
    if (c.fix && c.status !== 'pass') rows.push(['', '', chalk.dim(`fix: ${c.fix}`)])
  }
  const what = report.devices === null ? `the configuration (${report.tier} tier)` : `${formatInt(report.devices)} devices (${report.tier} tier)`
  const {pass, warn, fail} = report.summary
  return `${table(rows)}\n\nFor ${what}: ${pass} pass, ${warn} warn, ${fail} fail.`
}
