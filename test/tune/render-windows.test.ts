/** src/tune/render-windows.ts directly: tune.ps1, verify.ps1 and undo.ps1 from the registry and firewall tables. */
import {describe, expect, it} from 'vitest'
import {tierByName} from '../../src/sizing/tiers.js'
import {tuneScript, undoScript, verifyScript, windowsFiles} from '../../src/tune/render-windows.js'
import {DYNAMIC_PORTS, FIREWALL_RULES, LEGACY_REGISTRY, REGISTRY, TCPIP_KEY, WINDOWS_DIFFERENCES} from '../../src/tune/windows.js'

const tier = tierByName('small')
const o = {os: 'windows' as const, tier, devices: 3000, installDir: '/opt/mqtt-broker', user: 'mqtt-broker'}
const base = {tier, devices: 3000}

describe('tuneScript', () => {
  const text = tuneScript(o, base)

  it('header with every difference from the guide, no template placeholder left', () => {
    expect(text.startsWith('# mqttctl tune: Windows TCP/IP, port-range and firewall settings for the MQTT broker\n')).toBe(true)
    for (const d of WINDOWS_DIFFERENCES) expect(text).toContain(`#   - ${d}`)
    expect(text).toContain('# For: tier small (MAX_CONNECTIONS 10,000) for 3,000 devices')
    expect(text).not.toMatch(/\{\{|\}\}/)
  })

  it('sets each registry value as a DWORD, legacy ones only as comments', () => {
    expect(text).toContain(TCPIP_KEY)
    for (const r of REGISTRY) expect(text).toContain(`# ${r.why}\nSet-ItemProperty -Path $Tcpip -Name ${r.name} -Value ${r.value} -Type DWord`)
    for (const r of LEGACY_REGISTRY) {
      expect(text).toContain(`#   ${r.name} = ${r.value}: read only by ${r.readBy}.`)
      expect(text).not.toMatch(new RegExp(`^Set-ItemProperty .*-Name ${r.name} `, 'm'))
    }
  })

  it('the dynamic port range, the port exclusions and one replaceable firewall rule per MQTT port', () => {
    expect(text).toContain(String(DYNAMIC_PORTS.start))
    expect(text).toContain(String(DYNAMIC_PORTS.count))
    for (const r of FIREWALL_RULES) {
      expect(text).toContain(`netsh int ipv4 add excludedportrange protocol=tcp startport=${r.port} numberofports=1 store=persistent`)
      expect(text).toContain(`Remove-NetFirewallRule -Name '${r.name}' -ErrorAction SilentlyContinue\nNew-NetFirewallRule -Name '${r.name}' -DisplayName '${r.display}' -Direction Inbound -Action Allow -Protocol TCP -LocalPort ${r.port} | Out-Null`)
    }
    expect(text).toContain(FIREWALL_RULES.map((r) => `'${r.name}'`).join(', '))
  })
})

describe('verifyScript and undoScript', () => {
  it('verify.ps1 checks each registry value and each firewall rule', () => {
    const text = verifyScript(o, base)
    for (const r of REGISTRY) expect(text).toContain(`Check '${r.name}' (Get-ItemProperty -Path $Tcpip -Name ${r.name} -ErrorAction SilentlyContinue).${r.name} ${r.value}`)
    for (const r of FIREWALL_RULES) expect(text).toContain(`Check 'firewall ${r.port}' ([bool](Get-NetFirewallRule -Name '${r.name}' -ErrorAction SilentlyContinue | Where-Object Enabled -eq 'True')) 'True'`)
    expect(text).not.toMatch(/\{\{|\}\}/)
  })

  it('undo.ps1 deletes exactly the exclusions and rules tune.ps1 made', () => {
    const text = undoScript(o, base)
    for (const r of FIREWALL_RULES) expect(text).toContain(`netsh int ipv4 delete excludedportrange protocol=tcp startport=${r.port} numberofports=1 store=persistent`)
    expect(text).toContain(FIREWALL_RULES.map((r) => `'${r.name}'`).join(', '))
    expect(text).not.toContain('excludedportrange protocol=tcp startport=1884')
    expect(text).not.toMatch(/\{\{|\}\}/)
  })

  it('windowsFiles: the three scripts, in order, with their descriptions', () => {
    const files = windowsFiles(o, base)
    expect(files.map((f) => f.path)).toEqual(['tune.ps1', 'verify.ps1', 'undo.ps1'])
    expect(files.map((f) => f.content)).toEqual([tuneScript(o, base), verifyScript(o, base), undoScript(o, base)])
    for (const f of files) expect(f.description.length).toBeGreaterThan(10)
  })
})
