/**
 * Number formatting, shared: the statistics log uses it, and src/cli/render.ts re-exports it for the
 * commands. Pure, node-free, so the broker runtime can import it without pulling in the CLI.
 */

/**
 * 1234567 -> "1,234,567" (what Intl.NumberFormat('en-US') prints, without Intl: the first
 * Intl.NumberFormat loads ICU's data, about 7 MB of RSS in every broker and in start's parent).
 */
export function formatInt(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '-∞'
  const r = Math.round(n)
  const digits = BigInt(Math.abs(r)).toString()
  let out = ''
  for (let end = digits.length; end > 0; end -= 3) out = (end > 3 ? ',' : '') + digits.slice(Math.max(0, end - 3), end) + out
  return (r < 0 || Object.is(r, -0) ? '-' : '') + out
}

/** Decimal units as the guide writes them: 11000 -> "11 KB", 1.7e9 -> "1.7 GB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  const text = i === 0 || v >= 100 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, '')
  return `${text} ${units[i]}`
}

/** A ratio in [0, 1] as "99.2 %". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`
}

/** 3723 -> "1h 2m 3s"; 90061 -> "1d 1h 1m 1s". */
export function formatDuration(totalSeconds: number): string {
  let s = Math.max(0, Math.floor(totalSeconds))
  const d = Math.floor(s / 86_400)
  s -= d * 86_400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const parts = d > 0 ? [`${d}d`, `${h}h`, `${m}m`] : h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`] : []
  return [...parts, `${s}s`].join(' ')
}
