/**
 * Windows tuning as data: the guide's §3.1, restated in forms current Windows reads. Windows has no
 * per-process open-file limit to raise (sockets are handles, ~16M per process), so the tier changes
 * only the header; the values protect the listen ports and shorten TIME_WAIT.
 */
export const TCPIP_KEY = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters'

export interface RegistryValue {
  name: string
  value: number
  why: string
}

/** Registry values current Windows still reads. */
export const REGISTRY: RegistryValue[] = [{name: 'TcpTimedWaitDelay', value: 30, why: 'guide §3.1.1: TIME_WAIT of 30 s instead of 120 s (range 30-300)'}]

/** Registry values only old Windows reads: written into the script as comments, never set. */
export const LEGACY_REGISTRY: (RegistryValue & {readBy: string})[] = [
  {name: 'MaxUserPort', value: 65_534, readBy: 'Windows XP / Server 2003 and earlier; Vista / Server 2008 and later use the dynamic port range set with netsh below', why: 'guide §3.1.1'},
  {name: 'MaxFreeTcbs', value: 16_000, readBy: 'Windows Server 2003 and earlier; later versions size the TCB table dynamically', why: 'guide §3.1.1'},
  {name: 'MaxHalfOpen', value: 16_000, readBy: 'Windows 2000 / XP / Server 2003 SYN-attack protection; removed in Vista / Server 2008', why: 'guide §3.1.1'},
]

/** Dynamic (ephemeral) ports 1025-65534: the modern form of MaxUserPort 65534. */
export const DYNAMIC_PORTS = {start: 1025, count: 64_510}

/** The MQTT ports, excluded from the dynamic range so an outgoing connection never takes them. */
export const FIREWALL_RULES = [
  {name: 'mqttctl-mqtt', display: 'MQTT Broker', port: 1883},
  {name: 'mqttctl-mqtt-tls', display: 'MQTT Broker TLS', port: 8883},
]

export const WINDOWS_DIFFERENCES = [
  'MaxUserPort, MaxFreeTcbs and MaxHalfOpen are only comments: Windows since Vista / Server 2008 ignores them; the dynamic port range is set with "netsh int ipv4 set dynamicport tcp" instead',
  'ECN uses the real option name ecncapability=enabled (the guide\'s "ecn=enabled" is rejected by netsh)',
  'no "recvbufsizes": netsh has no such option; receive-window autotuning (autotuninglevel=normal) sizes buffers',
  '1883 and 8883 are excluded from the dynamic range, so an outgoing connection cannot take them before the broker binds',
  'firewall rules are created with New-NetFirewallRule under fixed names, so re-running replaces them and undo.ps1 removes exactly them',
  'the running values are saved to backup.json first; undo.ps1 puts them back',
]
