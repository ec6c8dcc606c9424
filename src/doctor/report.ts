/** Human output for `doctor`: each check's status and name, then what was found and the fix, wrapped to the width. */
import chalk from 'chalk'
import {formatInt, outputWidth, wrap} from '../cli/render.js'
import type {DoctorReport, DoctorStatus} from './types.js'

const PAINT: Record<DoctorStatus, (s: string) => string> = {pass: chalk.green, warn: chalk.yellow, fail: chalk.red}
const INDENT = '      '

export function renderDoctor(report: DoctorReport, width = outputWidth()): string {
  const out: string[] = []
  for (const c of report.checks) {
    out.push(`${PAINT[c.status](c.status.padEnd(4))}  ${chalk.bold(c.name)}`)
    out.push(wrap(c.detail, width, INDENT, INDENT))
    if (c.fix && c.status !== 'pass') out.push(chalk.dim(wrap(`fix: ${c.fix}`, width, INDENT, INDENT)))
  }
  const what = report.devices === null ? `the configuration (${report.tier} tier)` : `${formatInt(report.devices)} devices (${report.tier} tier)`
  const {pass, warn, fail} = report.summary
  return `${out.join('\n')}\n\n${wrap(`For ${what}: ${pass} pass, ${warn} warn, ${fail} fail.`, width)}`
}
