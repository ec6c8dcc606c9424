import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {CpuSampler, cpuMillis, rssBytes} from '../../src/bench/proc.js'

/** A pid that is certainly not running: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((r) => child.on('exit', r))
  return child.pid!
}

describe('/proc readings of another process', () => {
  it('CPU time and RSS of a live process', () => {
    // Burn a little CPU so the reading cannot be 0.
    const until = process.cpuUsage().user + 20_000
    while (process.cpuUsage().user < until);
    expect(cpuMillis(process.pid)).toBeGreaterThan(0)
    const rss = rssBytes(process.pid)!
    expect(rss).toBeGreaterThan(1024 * 1024)
    expect(rss % 1024).toBe(0)
  })

  it('a process name with spaces and parentheses does not shift the fields', async () => {
    // The command name in /proc/<pid>/stat is "(...)"; the fields are read after the last ')'.
    const child = spawn(process.execPath, ['-e', "process.title = 'a (b) c'; let x = 0; for (const t = Date.now(); Date.now() - t < 50;) x++; console.log('ready'); setInterval(() => {}, 1000)"])
    try {
      await new Promise((r) => child.stdout.once('data', r))
      const cpu = cpuMillis(child.pid!)!
      // utime + stime: a few ms to a few hundred, never the huge numbers a shifted field would give.
      expect(cpu).toBeGreaterThan(0)
      expect(cpu).toBeLessThan(60_000)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('null for a process that does not exist, never a throw', async () => {
    const pid = await deadPid()
    expect(cpuMillis(pid)).toBeNull()
    expect(rssBytes(pid)).toBeNull()
    const sampler = new CpuSampler(pid)
    sampler.start()
    expect(sampler.stop()).toBeNull()
  })

  it('CpuSampler: a share of one core between start and stop', () => {
    const sampler = new CpuSampler(process.pid)
    sampler.start()
    const until = process.cpuUsage().user + 30_000
    while (process.cpuUsage().user < until);
    const pct = sampler.stop()
    expect(pct).not.toBeNull()
    expect(pct).toBeGreaterThanOrEqual(0)
  })
})
