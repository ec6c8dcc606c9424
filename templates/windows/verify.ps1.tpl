{{header}}
#
# Run in PowerShell (no elevation needed): .\verify.ps1
$Tcpip = '{{tcpipKey}}'
$ok = $true
function Check($what, $actual, $expected) {
  $good = "$actual" -eq "$expected"
  if (-not $good) { $script:ok = $false }
  '{0,-28} {1,-14} expected {2,-14} {3}' -f $what, $actual, $expected, $(if ($good) { 'ok' } else { 'DIFFERS' })
}
{{registryChecks}}
$tcp = Get-NetTCPSetting -SettingName Internet
Check 'dynamic port start' $tcp.DynamicPortRangeStartPort {{portStart}}
Check 'dynamic port count' $tcp.DynamicPortRangeNumberOfPorts {{portCount}}
Check 'autotuning' $tcp.AutoTuningLevelLocal 'Normal'
{{firewallChecks}}
netsh int ipv4 show dynamicport tcp
netsh int ipv4 show excludedportrange protocol=tcp
netsh int tcp show global
Write-Host "Established TCP connections: $((Get-NetTCPConnection -State Established -ErrorAction SilentlyContinue | Measure-Object).Count)"
if (-not $ok) { Write-Host 'Some values differ from the recommendation.'; exit 1 }
