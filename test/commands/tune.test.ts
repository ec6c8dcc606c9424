import {runCommand} from '@oclif/test'
import {existsSync, mkdtempSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {sysctlEntries} from '../../src/tune/linux.js'
import {fakeRoot, getKey, procLimits} from '../tune/fake-root.js'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const
const tmp = () => mkdtempSync(join(tmpdir(), 'mqttctl-tune-cmd-'))

describe('mqttctl tune', () => {
  it('--out writes one file each, scripts executable, and lists them', async () => {
    const out = tmp()
    const {stdout, stderr, error} = await runCommand(['tune', '--os', 'linux', '--devices', '250k', '--out', out], {root}, opts)
    expect(error).toBeUndefined()
    expect(stderr).toContain('250,000 devices: large tier')
    for (const rel of ['sysctl.d/99-mqtt.conf', 'limits.d/99-mqtt.conf', 'systemd/mqtt-broker.service', 'apply.sh']) {
      expect(stdout).toContain(`wrote ${join(out, rel)}`)
      expect(readFileSync(join(out, rel), 'utf8')).toContain('For: tier large (MAX_CONNECTIONS 1,000,000) for 250,000 devices')
    }
    expect(statSync(join(out, 'apply.sh')).mode & 0o777).toBe(0o755)
    expect(statSync(join(out, 'sysctl.d/99-mqtt.conf')).mode & 0o777).toBe(0o644)
  })

  it('prints to stdout by default, every file under a ==> path <== line', async () => {
    const {stdout, error} = await runCommand(['tune', '--os', 'windows', '--tier', 'medium'], {root}, opts)
    expect(error).toBeUndefined()
    expect(stdout.match(/^==> .* <==$/gm)).toEqual(['==> tune.ps1 <==', '==> verify.ps1 <==', '==> undo.ps1 <=='])
    expect(stdout).toContain('For: tier medium (MAX_CONNECTIONS 100,000); no device count given (tier chosen directly)')
  })

  it('--json gives the files with their contents; above 1M devices they are per node', async () => {
    const {stdout, error} = await runCommand(['tune', '--os', 'macos', '--devices', '2.5M', '--json'], {root}, opts)
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({mode: 'render', os: 'macos', tier: 'large', nodes: 4, devices: 625_000})
    expect(result.files.map((f: {path: string}) => f.path)).toEqual(['com.mqttctl.maxfiles.plist', 'install-macos.sh'])
    expect(result.files[0].content).toContain('625,000 devices on each of 4 nodes')
  })

  const bad: Array<[string[], RegExp]> = [
    [['--tier', 'huge'], /--tier "huge" is not allowed; allowed: small, medium, large/],
    [['--devices', 'lots'], /--devices "lots" is not a number; allowed: a whole number of devices from 1 to 100,000,000/],
    [['--devices', '0'], /--devices "0" is too small/],
    [['--devices', '5000', '--tier', 'small'], /--devices and --tier are not allowed together/],
    [['--os', 'solaris'], /--os "solaris" is not allowed; allowed: linux, windows, macos/],
    [['--check', '--os', 'windows'], /--check and --apply read and change a Linux system; not allowed with --os windows/],
    [['--yes'], /--yes is only allowed with --apply/],
    [['--apply', '--os', 'linux'], /--apply asks for confirmation on a terminal; pass --yes/],
    [['--user', 'Admin'], /user "Admin" is not allowed: expected a Linux user name/],
    [['--os', 'windows', '--user', 'bob'], /^Error: --user is only allowed for the Linux files \(--os linux, --out or --apply\); the windows output has no systemd unit$/m],
    [['--os', 'macos', '--install-dir', '/srv/mqtt'], /^Error: --install-dir is only allowed for the Linux files/],
    [['--bogus'], /^Error: Nonexistent flag: --bogus; allowed flags: --os, .*--json$/m],
  ]
  for (const [args, message] of bad) {
    it(`bad input ${args.join(' ')}: one line, exit 2, nothing written`, async () => {
      const out = tmp()
      const {stdout, stderr, error} = await runCommand(['tune', ...args, ...(args.includes('--check') || args.includes('--apply') || args.includes('--yes') ? [] : ['--out', out])], {root}, opts)
      expect(error?.oclif?.exit).toBe(2)
      expect(stderr).toMatch(message)
      // exactly one line: no "why this tier" note before the error
      expect(stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(stdout).toBe('')
      expect(readdirSync(out)).toEqual([])
    })
  }

  it('--out where nothing can be written: one line, exit 1, and it returns (no hang under /proc)', async () => {
    const {stdout, stderr, error} = await runCommand(['tune', '--os', 'linux', '--tier', 'small', '--out', '/proc/mqttctl-cannot-be-here'], {root}, opts)
    expect(error?.oclif?.exit).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe('Error: cannot write /proc/mqttctl-cannot-be-here/sysctl.d/99-mqtt.conf: ENOENT\n')
  })

  it('--check on a fake root: a table of key, current, recommended, status; exit 1 when short', async () => {
    const fake = fakeRoot()
    const {stdout, error} = await runCommand(['tune', '--check', '--tier', 'small', '--root', fake], {root}, opts)
    expect(error?.oclif?.exit).toBe(1)
    expect(stdout).toMatch(/^key +current +recommended +status$/m)
    expect(stdout).toMatch(/^net\.ipv4\.tcp_keepalive_time +7200 +300 +too high$/m)
    expect(stdout).toMatch(/checks fall short of the small tier \(kernel 6\.1\.0-test\)/)
  })

  it('--check --json exits 0 on a machine that meets the tier', async () => {
    const tier = tierByName('small')
    const fake = fakeRoot(Object.fromEntries(sysctlEntries(tier).map((e) => [e.key, e.value])), procLimits(tier.os.openFiles, tier.os.maxProcesses))
    const {stdout, error} = await runCommand(['tune', '--check', '--tier', 'small', '--root', fake, '--json'], {root}, opts)
    expect(error).toBeUndefined()
    expect(JSON.parse(stdout)).toMatchObject({mode: 'check', tier: 'small', ok: true, short: 0})
  })

  it('--check reads this machine truthfully (exit code follows the rows)', async () => {
    const {stdout, error} = await runCommand(['tune', '--check', '--tier', 'large', '--json'], {root}, opts)
    const result = JSON.parse(stdout)
    const somaxconn = readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()
    expect(result.rows.find((r: {key: string}) => r.key === 'net.core.somaxconn').current).toBe(somaxconn)
    expect(error?.oclif?.exit ?? 0).toBe(result.ok ? 0 : 1)
  })

  it('--apply --yes on a fake root backs up, applies and verifies', async () => {
    const fake = fakeRoot()
    const {stdout, error} = await runCommand(['tune', '--apply', '--yes', '--tier', 'medium', '--root', fake], {root}, opts)
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/Kernel parameters to change:\n {2}net\.ipv4\.ip_local_port_range +32768 60999 +-> +1024 65535/)
    expect(stdout).toMatch(/create +\/etc\/systemd\/system\/mqtt-broker\.service/)
    expect(stdout).toContain('verify: every value in')
    expect(stdout).toContain('undo with: sudo ')
    expect(getKey(fake, 'net.core.somaxconn')).toBe('32768')
    expect(existsSync(join(fake, 'etc/security/limits.d/99-mqtt.conf'))).toBe(true)
  })
})
