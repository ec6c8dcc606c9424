/** Shapes shared by the runner, the worker processes and the merge in index.ts. */
import type {BroadcastsJSON} from './broadcasts.js'
import type {Histogram} from './histogram.js'

/** Which clients this process runs: [from, to) of the main role, [subFrom, subTo) of subscribers. */
export interface Slice {
  from: number
  to: number
  subFrom: number
  subTo: number
  /** fanout: this share holds the broadcasting publisher (and the probe pair). */
  publisher: boolean
  /** This share's part of --rate. */
  rate: number
}

export interface Progress {
  phase: 'connecting' | 'running' | 'draining' | 'done'
  connected: number
  connectFailed: number
  sent: number
  received: number
  errors: number
}

export interface PartResult {
  connected: number
  connectFailed: number
  connectMs: number
  sent: number
  received: number
  acked: number
  sentMeasured: number
  receivedMeasured: number
  measureMs: number
  latency: ReturnType<Histogram['toJSON']>
  probe: ReturnType<Histogram['toJSON']> | null
  broadcasts: BroadcastsJSON | null
  errors: Record<string, number>
  errorCount: number
  cpuUserMs: number
  cpuSystemMs: number
  wallMs: number
}

export interface RunHooks {
  /** Awaited after every client connected (and subscribed), before the load starts. */
  ready?: () => Promise<void> | void
}
