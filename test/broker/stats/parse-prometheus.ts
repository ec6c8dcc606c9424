/** A strict little parser for Prometheus text format 0.0.4, for tests: throws on anything it does not expect. */

export interface Family {
  help?: string
  type?: string
  samples: Array<{labels: Record<string, string>; value: number}>
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, (f = {samples: []}))
    return f
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    let m = /^# HELP ([a-zA-Z_:][\w:]*) (.+)$/.exec(line)
    if (m) {
      family(m[1]).help = m[2]
      continue
    }
    m = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (m) {
      const f = family(m[1])
      if (f.samples.length > 0) throw new Error(`TYPE after samples: ${line}`)
      f.type = m[2]
      continue
    }
    m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`unparseable line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    if (m[2]) {
      for (const part of m[2].matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[part[1]] = part[2]
    }
    const f = families.get(m[1])
    if (!f?.type) throw new Error(`sample before its TYPE: ${line}`)
    const value = Number(m[3])
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value: ${line}`)
    f.samples.push({labels, value})
  }
  return families
}
