export type DoctorStatus = 'pass' | 'warn' | 'fail'

export interface DoctorCheck {
  /** Stable id for --json consumers: node, config, os-limits, port-1883, tls, listen-address, data-dir, store, log-level, monitoring, backup, load-test; with cluster.servers: nats-<host:port> (one per server), nats-jetstream, nats-replicas. */
  id: string
  /** What was checked, as in the guide's §8 checklist. */
  name: string
  status: DoctorStatus
  /** What was found. */
  detail: string
  /** What to do about a warn or fail. */
  fix?: string
}

export interface DoctorReport {
  ok: boolean
  /** Devices the plan is for; null when judged from the configuration file alone. */
  devices: number | null
  tier: string
  config: string | null
  checks: DoctorCheck[]
  summary: Record<DoctorStatus, number>
}
