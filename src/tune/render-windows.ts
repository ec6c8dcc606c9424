/** Windows files for a tier: tune.ps1, verify.ps1 and undo.ps1 (templates/windows/). */
import {hashHeader, type HeaderInput} from './header.js'
import {renderTemplate} from './template.js'
import type {RenderOptions, TuneFile} from './types.js'
import {DYNAMIC_PORTS, FIREWALL_RULES, LEGACY_REGISTRY, REGISTRY, TCPIP_KEY, WINDOWS_DIFFERENCES} from './windows.js'

type Base = Omit<HeaderInput, 'purpose' | 'install' | 'guideSection' | 'differences'>

const q = (s: string) => `'${s.replaceAll("'", "''")}'`

function vars() {
  return {
    tcpipKey: TCPIP_KEY,
    portStart: String(DYNAMIC_PORTS.start),
    portCount: String(DYNAMIC_PORTS.count),
    ruleNames: FIREWALL_RULES.map((r) => q(r.name)).join(', '),
  }
}

export function tuneScript(o: RenderOptions, base: Base): string {
  const header = hashHeader({...base, purpose: 'Windows TCP/IP, port-range and firewall settings for the MQTT broker', install: 'run tune.ps1 as Administrator', guideSection: '§3.1', differences: WINDOWS_DIFFERENCES})
  const v = vars()
  return renderTemplate('windows/tune.ps1.tpl', {
    header,
    tcpipKey: v.tcpipKey,
    ruleNames: v.ruleNames,
    portStart: v.portStart,
    portCount: v.portCount,
    registryNames: REGISTRY.map((r) => q(r.name)).join(', '),
    registry: REGISTRY.map((r) => `# ${r.why}\nSet-ItemProperty -Path $Tcpip -Name ${r.name} -Value ${r.value} -Type DWord`).join('\n'),
    legacy: LEGACY_REGISTRY.map((r) => `#   ${r.name} = ${r.value}: read only by ${r.readBy}.`).join('\n'),
    exclusions: FIREWALL_RULES.map((r) => `netsh int ipv4 add excludedportrange protocol=tcp startport=${r.port} numberofports=1 store=persistent`).join('\n'),
    firewall: FIREWALL_RULES.map(
      (r) =>
        `Remove-NetFirewallRule -Name ${q(r.name)} -ErrorAction SilentlyContinue\n` +
        `New-NetFirewallRule -Name ${q(r.name)} -DisplayName ${q(r.display)} -Direction Inbound -Action Allow -Protocol TCP -LocalPort ${r.port} | Out-Null`,
    ).join('\n'),
  })
}

export function verifyScript(o: RenderOptions, base: Base): string {
  const header = hashHeader({...base, purpose: 'checks that the settings tune.ps1 makes are in effect', install: 'run verify.ps1 (exit code 1 when something differs)', guideSection: '§3.1.4', differences: ['checks each value against the recommendation instead of printing netsh output to read by eye']})
  const v = vars()
  return renderTemplate('windows/verify.ps1.tpl', {
    header,
    tcpipKey: v.tcpipKey,
    portStart: v.portStart,
    portCount: v.portCount,
    registryChecks: REGISTRY.map((r) => `Check ${q(r.name)} (Get-ItemProperty -Path $Tcpip -Name ${r.name} -ErrorAction SilentlyContinue).${r.name} ${r.value}`).join('\n'),
    firewallChecks: FIREWALL_RULES.map((r) => `Check ${q(`firewall ${r.port}`)} ([bool](Get-NetFirewallRule -Name ${q(r.name)} -ErrorAction SilentlyContinue | Where-Object Enabled -eq 'True')) 'True'`).join('\n'),
  })
}

export function undoScript(o: RenderOptions, base: Base): string {
  const header = hashHeader({...base, purpose: 'undoes tune.ps1 from the backup.json it saved', install: 'run undo.ps1 as Administrator, from the directory tune.ps1 ran in', guideSection: '§3.1', differences: ['the guide has no way back; this restores every value tune.ps1 changed']})
  const v = vars()
  return renderTemplate('windows/undo.ps1.tpl', {
    header,
    tcpipKey: v.tcpipKey,
    ruleNames: v.ruleNames,
    unexclusions: FIREWALL_RULES.map((r) => `netsh int ipv4 delete excludedportrange protocol=tcp startport=${r.port} numberofports=1 store=persistent`).join('\n'),
  })
}

export function windowsFiles(o: RenderOptions, base: Base): TuneFile[] {
  return [
    {path: 'tune.ps1', content: tuneScript(o, base), description: 'backs up, sets registry/netsh/firewall values and verifies (run as Administrator)'},
    {path: 'verify.ps1', content: verifyScript(o, base), description: 'checks the values are in effect'},
    {path: 'undo.ps1', content: undoScript(o, base), description: 'restores the values saved by tune.ps1'},
  ]
}
