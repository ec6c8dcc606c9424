{{header}}
#
# Run in an elevated PowerShell: powershell -ExecutionPolicy Bypass -File .\undo.ps1
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$Tcpip = '{{tcpipKey}}'
$BackupFile = Join-Path $PSScriptRoot 'backup.json'
if (-not (Test-Path $BackupFile)) { Write-Error "No ${BackupFile}: tune.ps1 was not run from this directory, nothing to undo."; exit 1 }
$backup = Get-Content -Raw -Path $BackupFile | ConvertFrom-Json

foreach ($p in $backup.registry.PSObject.Properties) {
  if ($null -eq $p.Value) { Remove-ItemProperty -Path $Tcpip -Name $p.Name -ErrorAction SilentlyContinue }
  else { Set-ItemProperty -Path $Tcpip -Name $p.Name -Value ([int]$p.Value) -Type DWord }
}
netsh int ipv4 set dynamicport tcp start=$($backup.dynamicPortStart) num=$($backup.dynamicPortCount)
netsh int ipv6 set dynamicport tcp start=$($backup.dynamicPortStart) num=$($backup.dynamicPortCount)
{{unexclusions}}
netsh int tcp set global autotuninglevel=$($backup.autoTuningLevel.ToLower())
netsh int tcp set global ecncapability=$($backup.ecnCapability.ToLower())
foreach ($rule in @({{ruleNames}})) {
  if ($backup.firewallRules -notcontains $rule) { Remove-NetFirewallRule -Name $rule -ErrorAction SilentlyContinue }
}
Remove-Item $BackupFile
Write-Host 'Restored the values saved by tune.ps1. TcpTimedWaitDelay returns to its old value after a restart.'
