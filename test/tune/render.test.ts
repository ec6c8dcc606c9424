import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {TIERS, tierByName, type TierName} from '../../src/sizing/tiers.js'
import {parseUnit} from '../../src/tune/check.js'
import {renderTuneFiles, TUNE_OSES, type TuneFile} from '../../src/tune/index.js'
import {KERNEL_NR_OPEN_DEFAULT, sysctlEntries} from '../../src/tune/linux.js'

const FIXTURES = new URL('../fixtures/tune/', import.meta.url).pathname
const DEVICES: Record<TierName, number> = {small: 5_000, medium: 50_000, large: 250_000}
const file = (files: TuneFile[], path: string) => {
  const f = files.find((x) => x.path === path)
  if (!f) throw new Error(`no ${path} in ${files.map((x) => x.path).join(', ')}`)
  return f.content
}
const sysctlLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => /^(-?)([\w.-]+) = (.+)$/.exec(l)!)

describe('renderTuneFiles: every OS and tier', () => {
  for (const os of TUNE_OSES) {
    for (const tier of TIERS) {
      it(`${os} ${tier.name}: equals the golden files, each with a header naming the tier, devices and the guide differences`, () => {
        const files = renderTuneFiles({os, tier, devices: DEVICES[tier.name]})
        expect(files.length).toBeGreaterThan(1)
        for (const f of files) {
          expect(f.content).not.toMatch(/\{\{/)
          expect(f.content).toContain(`mqttctl tune: `)
          expect(f.content).toContain(`For: tier ${tier.name} (MAX_CONNECTIONS `)
          expect(f.content).toContain(`for ${DEVICES[tier.name].toLocaleString('en-US')} devices`)
          expect(f.content).toMatch(/differs from the guide, and why:\n\S*\s+ - \S/)
          const golden = join(FIXTURES, `${os}-${tier.name}`, f.path)
          if (process.env.UPDATE_GOLDEN) {
            mkdirSync(dirname(golden), {recursive: true})
            writeFileSync(golden, f.content)
          }
          expect(f.content, golden).toBe(readFileSync(golden, 'utf8'))
        }
      })
    }
  }

  it('says when no device count was given, and per node for a multi-node fleet', () => {
    const direct = renderTuneFiles({os: 'linux', tier: tierByName('medium')})
    expect(file(direct, 'apply.sh')).toContain('no device count given (tier chosen directly)')
    const nodes = renderTuneFiles({os: 'windows', tier: tierByName('large'), devices: 750_000, nodes: 4})
    expect(file(nodes, 'tune.ps1')).toContain('750,000 devices on each of 4 nodes')
  })

  it('rejects an install dir or user that would break the unit', () => {
    expect(() => renderTuneFiles({os: 'linux', tier: tierByName('small'), installDir: 'opt/x'})).toThrow(/installDir "opt\/x" is not allowed: expected an absolute path/)
    expect(() => renderTuneFiles({os: 'linux', tier: tierByName('small'), user: 'Bad User'})).toThrow(/user "Bad User" is not allowed/)
  })
})

describe('Linux files', () => {
  for (const tier of TIERS) {
    const files = renderTuneFiles({os: 'linux', tier, devices: DEVICES[tier.name]})
    const sysctl = file(files, 'sysctl.d/99-mqtt.conf')

    it(`${tier.name}: sysctl values follow the tier, without the guide's defects`, () => {
      const kv = Object.fromEntries(sysctlLines(sysctl).map((m) => [m[2], m[3]]))
      expect(kv['net.core.somaxconn']).toBe(String(tier.os.somaxconn))
      expect(kv['net.ipv4.tcp_max_syn_backlog']).toBe(String(tier.os.synBacklog))
      expect(kv['net.core.netdev_max_backlog']).toBe(String(tier.os.netdevBacklog))
      expect(kv['net.ipv4.ip_local_reserved_ports']).toBe('1883,8883')
      expect(sysctl).not.toMatch(/^-?net\.ipv4\.tcp_tw_recycle/m)
      expect(sysctl).not.toMatch(/^-?net\.core\.[rw]mem_default/m)
      const large = tier.os.openFiles > KERNEL_NR_OPEN_DEFAULT
      for (const key of ['fs.file-max', 'fs.nr_open', 'net.ipv4.tcp_mem']) expect(key in kv, key).toBe(large)
      if (large) {
        expect(Number(kv['fs.nr_open'])).toBeGreaterThanOrEqual(tier.os.openFiles)
        expect(Number(kv['fs.file-max'])).toBeGreaterThan(Number(kv['fs.nr_open']))
      }
    })

    it(`${tier.name}: every sysctl key exists in /proc/sys here, or is marked kernel-specific with "-"`, () => {
      for (const [, optional, key] of sysctlLines(sysctl)) {
        const present = existsSync(join('/proc/sys', ...key.split('.')))
        if (!present) expect(optional, `${key} is neither in /proc/sys nor optional`).toBe('-')
      }
      expect(sysctlLines(sysctl).filter((m) => m[1] === '-').map((m) => m[2])).toEqual(sysctlEntries(tier).filter((e) => e.optional).map((e) => e.key))
    })

    it(`${tier.name}: limits.d has nofile/nproc for * and root inside the file, within fs.nr_open`, () => {
      const limits = file(files, 'limits.d/99-mqtt.conf')
      const rows = limits
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/\s+/))
      for (const domain of ['*', 'root']) {
        for (const type of ['soft', 'hard']) {
          expect(rows).toContainEqual([domain, type, 'nofile', String(tier.os.openFiles)])
          expect(rows).toContainEqual([domain, type, 'nproc', String(tier.os.maxProcesses)])
        }
      }
      expect(rows).toHaveLength(8)
      const nrOpen = Number(sysctlEntries(tier).find((e) => e.key === 'fs.nr_open')?.value ?? KERNEL_NR_OPEN_DEFAULT)
      expect(tier.os.openFiles).toBeLessThanOrEqual(nrOpen)
    })

    it(`${tier.name}: the systemd unit has the user, working directory, limits, restart policy, journald and ExecStart of the build layout`, () => {
      const unit = parseUnit(file(files, 'systemd/mqtt-broker.service'))
      expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install'])
      expect(unit.Service).toMatchObject({
        User: 'mqtt-broker',
        WorkingDirectory: '/opt/mqtt-broker',
        ExecStart: '/opt/mqtt-broker/bin/mqtt-broker --config /opt/mqtt-broker/etc/broker.json',
        ExecReload: '/bin/kill -HUP $MAINPID',
        LimitNOFILE: String(tier.os.openFiles),
        LimitNPROC: String(tier.os.maxProcesses),
        Restart: 'on-failure',
        StandardOutput: 'journal',
        StandardError: 'journal',
      })
      expect(unit.Install.WantedBy).toBe('multi-user.target')
    })

    it(`${tier.name}: shell scripts pass bash -n`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'mqttctl-bashn-'))
      for (const f of [...files, ...renderTuneFiles({os: 'macos', tier})].filter((x) => x.path.endsWith('.sh'))) {
        const path = join(dir, f.path)
        writeFileSync(path, f.content)
        const r = spawnSync('bash', ['-n', path], {encoding: 'utf8'})
        expect(r.stderr, f.path).toBe('')
        expect(r.status, f.path).toBe(0)
      }
    })
  }

  // Keys this renderer may emit, per section (systemd.unit(5), systemd.service(5), systemd.exec(5)).
  const KNOWN = {
    Unit: ['Description', 'After', 'Wants', 'Documentation'],
    Service: ['Type', 'User', 'Group', 'WorkingDirectory', 'Environment', 'ExecStart', 'ExecReload', 'LimitNOFILE', 'LimitNPROC', 'Restart', 'RestartSec', 'TimeoutStopSec', 'StandardOutput', 'StandardError', 'SyslogIdentifier'],
    Install: ['WantedBy'],
  }

  it('the unit passes systemd-analyze verify (with a real executable at ExecStart), or our own key check where systemd-analyze is absent', () => {
    const install = mkdtempSync(join(tmpdir(), 'mqttctl-unit-'))
    mkdirSync(join(install, 'bin'))
    writeFileSync(join(install, 'bin/mqtt-broker'), '#!/bin/sh\n')
    chmodSync(join(install, 'bin/mqtt-broker'), 0o755)
    const unitText = file(renderTuneFiles({os: 'linux', tier: tierByName('large'), installDir: install, user: 'root'}), 'systemd/mqtt-broker.service')
    const unit = parseUnit(unitText)
    for (const [section, keys] of Object.entries(unit)) for (const key of Object.keys(keys)) expect(KNOWN[section as keyof typeof KNOWN], `${section}.${key}`).toContain(key)
    const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], {encoding: 'utf8'}).stdout.trim()
    if (analyze) {
      const path = join(install, 'mqtt-broker.service')
      writeFileSync(path, unitText)
      const r = spawnSync(analyze, ['verify', path], {encoding: 'utf8'})
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    }
  })

  it('the key check itself catches a key systemd does not know', () => {
    expect(() => parseUnit('[Service]\nnot a key\n')).toThrow(/not a unit file line/)
    expect(KNOWN.Service).not.toContain(Object.keys(parseUnit('[Service]\nLimitNOFILES=1\n').Service)[0])
  })
})

describe('Windows files', () => {
  const files = renderTuneFiles({os: 'windows', tier: tierByName('large'), devices: 250_000})
  const tune = file(files, 'tune.ps1')
  const code = (text: string) =>
    text
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n')

  it('uses the modern dynamicport form, excludes the MQTT ports, and only comments the legacy values with the versions that read them', () => {
    expect(code(tune)).toContain('netsh int ipv4 set dynamicport tcp start=1025 num=64510')
    expect(code(tune)).toContain('netsh int ipv4 add excludedportrange protocol=tcp startport=1883 numberofports=1 store=persistent')
    for (const legacy of ['MaxUserPort', 'MaxFreeTcbs', 'MaxHalfOpen']) {
      expect(code(tune)).not.toContain(legacy)
      expect(tune).toMatch(new RegExp(`#\\s+${legacy} = \\d+: read only by .*(Windows|Server)`))
    }
    expect(code(tune)).toContain('Set-ItemProperty -Path $Tcpip -Name TcpTimedWaitDelay -Value 30 -Type DWord')
  })

  it('uses netsh options that exist: ecncapability, no recvbufsizes', () => {
    expect(code(tune)).toContain('netsh int tcp set global ecncapability=enabled')
    expect(code(tune)).toContain('netsh int tcp set global autotuninglevel=normal')
    expect(code(tune)).not.toMatch(/ecn=|recvbufsizes/)
  })

  it('opens 1883 and 8883, backs up first, verifies, and has an undo script that restores and removes', () => {
    expect(tune).toMatch(/New-NetFirewallRule -Name 'mqttctl-mqtt' .* -LocalPort 1883/)
    expect(tune).toMatch(/New-NetFirewallRule -Name 'mqttctl-mqtt-tls' .* -LocalPort 8883/)
    expect(tune.indexOf('backup.json')).toBeLessThan(tune.indexOf('Set-ItemProperty'))
    expect(tune).toContain("verify.ps1")
    const undo = file(files, 'undo.ps1')
    expect(undo).toContain('ConvertFrom-Json')
    expect(undo).toContain('Remove-NetFirewallRule')
    expect(undo).toContain('netsh int ipv4 delete excludedportrange protocol=tcp startport=8883')
    expect(file(files, 'verify.ps1')).toContain('Get-NetTCPSetting')
  })

  it('has balanced braces and parentheses in every script (a cheap PowerShell syntax check; no pwsh here)', () => {
    for (const f of files) {
      const body = code(f.content).replace(/'[^']*'|"[^"]*"/g, '')
      for (const [open, close] of [['{', '}'], ['(', ')']]) expect(body.split(open).length, `${f.path} ${open}`).toBe(body.split(close).length)
    }
  })
})

describe('macOS files', () => {
  for (const tier of TIERS) {
    it(`${tier.name}: a LaunchDaemon plist (not /etc/launchd.conf) that python's plistlib reads`, () => {
      const files = renderTuneFiles({os: 'macos', tier, devices: DEVICES[tier.name]})
      const plist = file(files, 'com.mqttctl.maxfiles.plist')
      const json = execFileSync('python3', ['-c', 'import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {input: plist, encoding: 'utf8'})
      const parsed = JSON.parse(json) as {Label: string; ProgramArguments: string[]; RunAtLoad: boolean}
      expect(parsed.Label).toBe('com.mqttctl.maxfiles')
      expect(parsed.RunAtLoad).toBe(true)
      expect(parsed.ProgramArguments[2]).toContain(`/bin/launchctl limit maxfiles ${tier.os.openFiles} ${tier.os.openFiles}`)
      expect(parsed.ProgramArguments[2]).toContain(`kern.maxfilesperproc=${tier.os.openFiles}`)
      const script = file(files, 'install-macos.sh')
      expect(script).toContain('launchctl bootstrap system')
      expect(script).toContain('launchctl limit maxfiles')
      expect(plist.replace(/<!--[\s\S]*?-->/, '')).not.toContain('launchd.conf')
    })
  }
})
