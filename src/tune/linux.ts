/**
 * Linux tuning for a tier, as data (no strings of shell or unit syntax here): the sysctl keys with
 * how each is compared against a running system, the PAM limits and the systemd limits.
 * Figures come from the tier table (src/sizing/tiers.ts); the fixed values are the guide's §3.2,
 * minus its defects (SIZING.md §5).
 */
import type {Tier} from '../sizing/tiers.js'

/**
 * How a recommended value relates to the running one.
 * - min: the running value (each number) must be at least this; a higher value is kept, never lowered.
 * - max: the running value must be at most this (timeouts, retries); a lower value is kept.
 * - range: "low high": the running range must cover it (low <= low, high >= high).
 * - set: exactly this (on/off switches).
 */
export type Mode = 'min' | 'max' | 'range' | 'set'

export interface SysctlEntry {
  key: string
  /** As written in sysctl.d: numbers separated by one space. */
  value: string
  mode: Mode
  /** One line: why this value. */
  why: string
  /**
   * The key exists only with a module or kernel option loaded (nf_conntrack); written with
   * sysctl.d's "-" prefix so a missing key is not an error.
   */
  optional?: boolean
}

export interface Differences {
  /** What we do differently from the guide, and why: printed in the generated file's header. */
  differences: string[]
}

/** The kernel's own fs.nr_open default (1024 * 1024); above it LimitNOFILE/nofile cannot be set. */
export const KERNEL_NR_OPEN_DEFAULT = 1_048_576
/** Ports the broker listens on by default; reserved so no outgoing connection takes them as a source port. */
export const MQTT_PORTS = [1883, 8883]
const BUF_128MB = 134_217_728
const PAGE = 4096
const GiB = 1024 ** 3

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n))
}

export function sysctlEntries(tier: Tier): SysctlEntry[] {
  const os = tier.os
  const entries: SysctlEntry[] = [
    {key: 'net.ipv4.ip_local_port_range', value: '1024 65535', mode: 'range', why: 'guide §3.2.2: widest ephemeral range for outgoing connections (bridges, clients on this host)'},
    {key: 'net.ipv4.ip_local_reserved_ports', value: MQTT_PORTS.join(','), mode: 'set', why: 'not in the guide: with the range starting at 1024 an outgoing socket could take 1883/8883 and the broker would fail to bind'},
    {key: 'net.ipv4.tcp_tw_reuse', value: '1', mode: 'set', why: 'guide §3.2.2: reuse TIME_WAIT sockets for new outgoing connections'},
    {key: 'net.ipv4.tcp_fin_timeout', value: '30', mode: 'max', why: 'guide §3.2.2: release FIN_WAIT_2 sockets of vanished devices sooner'},
    {key: 'net.core.somaxconn', value: String(os.somaxconn), mode: 'min', why: `accept queue for reconnect storms (tier ${tier.name})`},
    {key: 'net.ipv4.tcp_max_syn_backlog', value: String(os.synBacklog), mode: 'min', why: `half-open connection queue (tier ${tier.name})`},
    {key: 'net.core.netdev_max_backlog', value: String(os.netdevBacklog), mode: 'min', why: `packets queued per CPU before the stack drops them (tier ${tier.name})`},
    {key: 'net.ipv4.tcp_syn_retries', value: '3', mode: 'max', why: 'guide §3.2.2: give up unreachable outgoing connects after ~15 s'},
    {key: 'net.ipv4.tcp_synack_retries', value: '3', mode: 'max', why: 'guide §3.2.2: drop half-open connections of vanished devices sooner'},
    {key: 'net.core.rmem_max', value: String(BUF_128MB), mode: 'min', why: 'guide §3.2.2: ceiling for one socket\'s receive buffer (a ceiling only, not allocated)'},
    {key: 'net.core.wmem_max', value: String(BUF_128MB), mode: 'min', why: 'guide §3.2.2: ceiling for one socket\'s send buffer (a ceiling only, not allocated)'},
    {key: 'net.ipv4.tcp_rmem', value: `4096 87380 ${BUF_128MB}`, mode: 'min', why: 'guide §3.2.2: TCP receive buffer min/default/max; autotuning grows only busy sockets'},
    {key: 'net.ipv4.tcp_wmem', value: `4096 65536 ${BUF_128MB}`, mode: 'min', why: 'guide §3.2.2: TCP send buffer min/default/max'},
    {key: 'net.ipv4.tcp_keepalive_time', value: '300', mode: 'max', why: 'guide §3.2.2: detect dead peers after 5 min idle instead of 2 h'},
    {key: 'net.ipv4.tcp_keepalive_intvl', value: '30', mode: 'max', why: 'guide §3.2.2'},
    {key: 'net.ipv4.tcp_keepalive_probes', value: '3', mode: 'max', why: 'guide §3.2.2'},
    {key: 'net.ipv4.tcp_slow_start_after_idle', value: '0', mode: 'set', why: 'guide §3.2.2: keep the congestion window of idle device connections'},
    {key: 'net.ipv4.tcp_timestamps', value: '1', mode: 'set', why: 'guide §3.2.2 (needed by tcp_tw_reuse)'},
    {key: 'net.ipv4.tcp_sack', value: '1', mode: 'set', why: 'guide §3.2.2'},
    {key: 'net.ipv4.tcp_window_scaling', value: '1', mode: 'set', why: 'guide §3.2.2'},
  ]
  if (os.openFiles > KERNEL_NR_OPEN_DEFAULT) {
    // Only the large tier: the kernel's defaults already cover the smaller ones, and writing
    // them here would lower a machine that has more.
    const nrOpen = nextPowerOfTwo(os.openFiles)
    entries.push(
      {key: 'fs.nr_open', value: String(nrOpen), mode: 'min', why: `not in the guide: per-process fd ceiling; LimitNOFILE=${os.openFiles} fails above the default ${KERNEL_NR_OPEN_DEFAULT}`},
      {key: 'fs.file-max', value: String(2 * nrOpen), mode: 'min', why: 'not in the guide: system-wide open files, the broker\'s plus everything else on the host'},
      {
        key: 'net.ipv4.tcp_mem',
        value: [8, 12, 16].map((g) => (g * GiB) / PAGE).join(' '),
        mode: 'min',
        why: 'not in the guide: total TCP buffer memory in 4 KiB pages (8/12/16 GiB); the RAM-based default throttles 1M sockets',
      },
      {
        key: 'net.netfilter.nf_conntrack_max',
        value: String(2 * nextPowerOfTwo(tier.broker.maxConnections)),
        mode: 'min',
        optional: true,
        why: 'not in the guide: with connection tracking loaded its table (262,144 by default) fills before 1M connections',
      },
    )
  }
  return entries
}

export function sysctlDifferences(tier: Tier): string[] {
  const large = tier.os.openFiles > KERNEL_NR_OPEN_DEFAULT
  return [
    'no net.ipv4.tcp_tw_recycle: Linux 4.12 removed it (an unknown key makes sysctl -p fail), and on older kernels it drops connections from devices behind NAT',
    'no net.core.rmem_default / wmem_default = 128 MB: they are the default buffer of every non-TCP socket; the kernel defaults stay',
    'adds net.ipv4.ip_local_reserved_ports so the ephemeral range starting at 1024 never takes 1883/8883',
    large
      ? 'adds fs.nr_open, fs.file-max, net.ipv4.tcp_mem and nf_conntrack_max, which 1M connections need and the guide omits'
      : `fs.nr_open, fs.file-max and net.ipv4.tcp_mem stay at the kernel defaults, which cover ${tier.os.openFiles} open files (the large tier sets them)`,
    `somaxconn, tcp_max_syn_backlog and netdev_max_backlog follow the tier (${tier.name}) instead of the guide's one-size 65535`,
    'apply.sh never lowers a value the machine already has higher (buffers, backlogs, file limits)',
  ]
}

export interface LinuxLimits {
  openFiles: number
  maxProcesses: number
}

export function linuxLimits(tier: Tier): LinuxLimits {
  return {openFiles: tier.os.openFiles, maxProcesses: tier.os.maxProcesses}
}

export const LIMITS_DIFFERENCES = [
  'the root lines are part of the file (the guide\'s snippet puts them outside the heredoc, and "*" does not match root)',
  'a drop-in under limits.d instead of appending to limits.conf, so removing it undoes it',
  'these limits apply to login sessions (PAM) only; the systemd unit sets its own LimitNOFILE',
]

export const UNIT_DIFFERENCES = [
  'ExecStart runs the Node.js broker as mqttctl build lays it out, with its configuration file',
  'waits for network-online.target (not just network.target) so a listen address is configured before binding',
  'TimeoutStopSec gives the broker time to close sessions and flush data/ on stop',
]
