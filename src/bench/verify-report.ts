/** `plan --verify` as text: predicted against measured, figure by figure, with the ratio. */
import chalk from 'chalk'
import {formatBytes, formatInt, outputWidth, table, wrap} from '../cli/render.js'
import {type Comparison, TOLERANCE, type VerifyResult} from './verify.js'

function value(c: Comparison, x: number): string {
  switch (c.unit) {
    case 'bytes':
      return formatBytes(x)
    case '%':
      return `${x.toFixed(1)} %`
    case 'ms':
      return `${formatInt(Math.round(x))} ms`
    default:
      return `${x} µs`
  }
}

export function renderVerify(v: VerifyResult, columns = outputWidth()): string {
  const pct = Math.round(TOLERANCE * 100)
  const rows = [[chalk.dim('figure'), chalk.dim('predicted'), chalk.dim('measured'), chalk.dim('ratio')]]
  for (const c of v.comparisons) {
    rows.push([c.figure, value(c, c.predicted), value(c, c.measured), `${c.ratio === null ? '–' : c.ratio.toFixed(2)}${c.off ? chalk.yellow(' !') : '  '}`])
  }
  const s = v.scale
  const out = [
    '',
    chalk.bold.cyan(`Verify on this host (${v.seconds} s)`),
    wrap(`${formatInt(s.connections)} connections for the plan's ${formatInt(s.planned)} live devices per node (${s.why}); ${v.spec.subsPerConnection} subscription(s) each, ${formatInt(v.spec.msgRate)} msg/s of ${formatInt(v.spec.payloadBytes)} B at QoS ${v.spec.qos}, a broadcast to ${formatInt(v.spec.broadcastSubscribers)}; loopback only.`, columns, '  '),
    table(rows, {indent: 2, align: ['l', 'r', 'r', 'r'], maxWidth: columns}),
  ]
  out.push(
    v.flagged.length === 0
      ? `  every figure within ${pct} % of the prediction`
      : wrap(`${chalk.yellow('!')} ${v.flagged.length} figure${v.flagged.length === 1 ? '' : 's'} off by more than ${pct} % (marked !): this host differs from the profile the plan used (or was busy meanwhile: a broadcast's time and CPU figures suffer first)`, columns, '  ', '    '),
  )
  out.push(v.savedTo === null ? '  not saved (--no-save)' : wrap(`saved as this host's runtime profile: ${v.savedTo} (plan uses it from now on; delete it to return to the shipped one)`, columns, '  ', '    '))
  return out.join('\n')
}
