/**
 * `monitor --node URL` (repeatable): the other nodes of a cluster beside the one --url watches. Each
 * node publishes only its own figures and the cluster's totals ($SYS is per node), so a per-node
 * table needs one $SYS connection per node: this keeps them, and their latest snapshots.
 */
import type {ChalkInstance} from 'chalk'
import {formatInt} from '../cli/render.js'
import type {MonitorSnapshot} from './snapshot.js'
import {SysClient, type SysClientOptions} from './sys-client.js'

/** Most --node URLs (a table of more is not read). */
export const MAX_NODE_URLS = 32

/** One node's row: null where the node does not publish the figure (or is unreachable: `error`). */
export interface NodeRow {
  url: string
  node: string | null
  connected: boolean | null
  clients: number | null
  subscriptions: number | null
  received: number | null
  sent: number | null
  exported: number | null
  imported: number | null
  /** Why there are no figures: the node could not be reached or its connection closed. */
  error?: string
}

export function nodeRow(url: string, s: MonitorSnapshot | undefined, error?: string): NodeRow {
  const f = s?.figures ?? {}
  const c = s?.cluster
  const v = (x: number | undefined | null) => (x === undefined ? null : x)
  return {
    url,
    node: c?.node ?? null,
    connected: c ? c.connected : null,
    clients: v(f.connectionsLive),
    subscriptions: v(f.subscriptions),
    received: v(f.messagesReceived),
    sent: v(f.messagesSent),
    exported: c?.exported ?? null,
    imported: c?.imported ?? null,
    ...(error ? {error} : {}),
  }
}

/** The other nodes' $SYS connections; a node that cannot be reached is a row with its error, not a failure of the monitor. */
export class NodeWatch {
  readonly #clients = new Map<string, SysClient>()
  readonly #errors = new Map<string, string>()

  private constructor(readonly urls: readonly string[]) {}

  static async connect(urls: readonly string[], options: Omit<SysClientOptions, 'url'>): Promise<NodeWatch> {
    const w = new NodeWatch(urls)
    await Promise.all(
      urls.map(async (url) => {
        try {
          const client = await SysClient.connect({...options, url})
          client.on('error', (e) => w.#errors.set(url, e.message))
          w.#clients.set(url, client)
        } catch (error) {
          w.#errors.set(url, (error as Error).message)
        }
      }),
    )
    return w
  }

  rows(): NodeRow[] {
    return this.urls.map((url) => nodeRow(url, this.#clients.get(url)?.latest(), this.#errors.get(url)))
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()))
  }
}

/** The dashboard's Nodes table: the watched node first, then --node ones. */
export function nodeLines(rows: readonly NodeRow[], c: ChalkInstance, width: number): string[] {
  if (rows.length === 0) return []
  const n = (v: number | null) => (v === null ? 'n/a' : formatInt(v))
  const cells = rows.map((r) => [
    r.node ?? r.url.replace(/^mqtts?:\/\//, ''),
    r.error ? 'unreachable' : r.connected === null ? 'n/a' : r.connected ? 'up' : 'DOWN',
    n(r.clients),
    n(r.received),
    n(r.sent),
    n(r.exported),
    n(r.imported),
  ])
  const head = ['node', 'NATS', 'clients', 'msgs in', 'msgs out', 'to NATS', 'from NATS']
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)))
  const line = (row: string[]) => row.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ')
  const cut = (s: string) => (s.length + 2 > width ? `${s.slice(0, width - 3)}…` : s)
  return [c.bold('Nodes'), `  ${c.dim(cut(line(head)))}`, ...cells.map((row, i) => `  ${rows[i].error || rows[i].connected === false ? c.red(cut(line(row))) : cut(line(row))}`)]
}
