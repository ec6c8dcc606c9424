{{header}}
#
# Run in an elevated PowerShell:  powershell -ExecutionPolicy Bypass -File .\tune.ps1
# Undo:                           powershell -ExecutionPolicy Bypass -File .\undo.ps1
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$Tcpip = '{{tcpipKey}}'
$BackupFile = Join-Path $PSScriptRoot 'backup.json'

# 1. Back up what this script changes (locale-independent cmdlets, not netsh's translated text).
if (Test-Path $BackupFile) {
  Write-Host "Keeping the existing backup $BackupFile (it holds the values from before the first run)."
} else {
  $tcp = Get-NetTCPSetting -SettingName Internet
  $backup = [ordered]@{
    registry = [ordered]@{}
    dynamicPortStart = [int]$tcp.DynamicPortRangeStartPort
    dynamicPortCount = [int]$tcp.DynamicPortRangeNumberOfPorts
    autoTuningLevel = [string]$tcp.AutoTuningLevelLocal
    ecnCapability = [string]$tcp.EcnCapability
    firewallRules = @()
  }
  foreach ($name in @({{registryNames}})) {
    $item = Get-ItemProperty -Path $Tcpip -Name $name -ErrorAction SilentlyContinue
    $backup.registry[$name] = if ($null -ne $item) { [int]$item.$name } else { $null }
  }
  foreach ($rule in @({{ruleNames}})) {
    if (Get-NetFirewallRule -Name $rule -ErrorAction SilentlyContinue) { $backup.firewallRules += $rule }
  }
  $backup | ConvertTo-Json -Depth 4 | Set-Content -Path $BackupFile -Encoding UTF8
  Write-Host "Saved the current values to $BackupFile"
}

# 2. Registry values current Windows reads.
{{registry}}

# Legacy values from the guide, deliberately NOT set:
{{legacy}}

# 3. Dynamic port range (modern replacement for MaxUserPort) and the MQTT ports kept out of it.
netsh int ipv4 set dynamicport tcp start={{portStart}} num={{portCount}}
netsh int ipv6 set dynamicport tcp start={{portStart}} num={{portCount}}
{{exclusions}}

# 4. TCP globals.
netsh int tcp set global autotuninglevel=normal
netsh int tcp set global ecncapability=enabled

# 5. Firewall: inbound MQTT and MQTT over TLS.
{{firewall}}

# 6. Verify.
& (Join-Path $PSScriptRoot 'verify.ps1')
Write-Host 'TcpTimedWaitDelay takes effect after a restart.'
