/**
 * One broker node's link to the others through NATS.
 *
 * Routing by interest (./filters.ts): every local subscription filter is a NATS subscription, so NATS
 * sends a node only what its clients want. A message published here is delivered to local
 * subscribers first, synchronously (it never waits for NATS), then published once on its subject; a
 * message from another node is delivered to local subscribers and never exported again.
 *
 * Two NATS connections: `main` (no echo: NATS never returns our own messages) publishes and carries
 * the plain subscriptions; `shared` carries the queue subscriptions of shared subscriptions, so NATS
 * picks one node of the whole cluster for each message, this node included. While the cluster link
 * is up, shared groups are served only through NATS (each message once cluster-wide); while it is
 * down, locally.
 *
 * JetStream: retained messages (./retained.ts), QoS 1/2 for persistent sessions elsewhere
 * (./durable.ts, ./durable-interest.ts), sessions of nodes that are down (./orphans.ts). Also
 * ./interest.ts, ./sessions.ts, ./figures.ts. Connection loss: NATS reconnects by itself (forever);
 * meanwhile messages stay local, counted in ClusterStats, and the change is logged once each way.
 */
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {type NatsConnection, headers as natsHeaders} from 'nats'
import {systemClock} from '../clock.js'
import type {Message} from '../message.js'
import {DurableQueue, JS_HEADER, nodeToken, viaJetStream} from './durable.js'
import {DurableInterest, durableInterestStreamName} from './durable-interest.js'
import {type NodeFigures, PeerFigures} from './figures.js'
import {NatsFilters} from './filters.js'
import {type ClusterHost, type ClusterOptions, ClusterStats} from './host.js'
import {RemoteInterest} from './interest.js'
import {DRAIN_TIMEOUT_MS, Retry, closeNow, drainAll, flushWithin, jetStreamHint, watchLink} from './link.js'
import {SessionDirectory} from './directory.js'
import {SessionFailover} from './orphans.js'
import {RetainedSync} from './retained.js'
import {type ClaimResult, SessionMover} from './sessions.js'
import {SubjectMap} from './subjects.js'
import {encodeHeaders} from './wire.js'

export {type ClusterHost, type ClusterOptions, ClusterStats} from './host.js'
export type {NodeFigures} from './figures.js'

const LOG_EVERY_MS = 60_000
const HEARTBEAT_MS = 10_000
const PEER_TIMEOUT_MS = 35_000

export class ClusterNode {
  readonly name: string
  /** Unique per process run: tells this run's messages from an earlier run's. */
  readonly id: string
  /** Stable across restarts (the node name as a NATS token): names this node's JetStream consumer. */
  readonly token: string
  readonly stats = new ClusterStats()
  readonly map: SubjectMap
  readonly #host: ClusterHost
  readonly #options: ClusterOptions
  #main: NatsConnection | undefined
  #shared: NatsConnection | undefined
  readonly #filters: NatsFilters
  #retained: RetainedSync | undefined
  #interest: RemoteInterest | undefined
  /** Persistent sessions' QoS 1/2 filters: here (the broker adds and removes them) and on the other nodes. */
  readonly durableInterest = new DurableInterest()
  #durable: DurableQueue | undefined
  /** Sessions of nodes that are down (./orphans.ts), set once JetStream answered; where each lives (./directory.ts). */
  failover: SessionFailover | undefined
  readonly directory: SessionDirectory
  /** Other nodes' latest figures by node id, with the time they arrived. */
  readonly peers = new PeerFigures()
  #mover: SessionMover | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #sweep: NodeJS.Timeout | undefined
  #closed = false
  /** Connections that are reconnecting now. */
  readonly #down = new Set<'main' | 'shared'>()
  /** Set by close() while it drains: the link was just lost (stop draining, close). */
  #onLost: (() => void) | undefined
  readonly #retry = new Retry()
  #lastUnmappedLog = -Infinity
  readonly #ready: Promise<void>
  #resolveReady!: () => void

  constructor(host: ClusterHost, options: ClusterOptions) {
    if (options.servers.length === 0) throw new Error('cluster: no NATS server URL')
    this.#host = host
    this.#options = options
    this.map = new SubjectMap({prefix: options.prefix, maxSubjectBytes: options.maxSubjectBytes})
    this.name = options.name ?? `${hostname()}-${process.pid}`
    this.id = randomBytes(6).toString('base64url')
    this.token = nodeToken(this.name)
    this.#ready = new Promise((resolve) => (this.#resolveReady = resolve))
    this.directory = new SessionDirectory(this.map.prefix, this.token, options.replicas ?? 1, host.logger)
    this.#filters = new NatsFilters(this.map, host, this.stats, {
      added: (filter) => this.#interest?.added(filter),
      removed: (filter) => this.#interest?.removed(filter),
      skip: (m) => this.#durable !== undefined && viaJetStream(m.headers, this.token),
      unmapped: (filter) => (this.stats.unmapped++, this.#logUnmapped(`filter ${JSON.stringify(filter.slice(0, 200))}`)),
    })
  }

  get connected(): boolean {
    return this.stats.connected
  }

  /** host:port of the NATS server the publishing connection uses now (nats.js picks among the URLs at random). */
  get server(): string | undefined {
    return this.#main?.getServer()
  }

  /** Resolves once both connections are up and the retained messages are loaded (or JetStream did not answer the first time: they follow). */
  ready(): Promise<void> {
    return this.#ready
  }

  /** Connects in the background (retrying forever; local clients are served meanwhile; subscriptions made before are made on NATS once it is up). */
  start(): void {
    void this.#connect().catch((error: unknown) => {
      if (!this.#closed) this.#host.logger.error(`cluster: cannot start the NATS link: ${(error as Error)?.message ?? error}`)
    })
  }

  async #connect(): Promise<void> {
    const o = this.#options
    const common = {servers: o.servers, maxReconnectAttempts: -1, reconnectTimeWait: o.reconnectWaitMs ?? 1000, pingInterval: 10_000, maxPingOut: 3}
    const main = await this.#retry.connect({...common, name: `mqttctl ${this.name}`, noEcho: true}, common.reconnectTimeWait, this.#host.logger)
    if (main === undefined) return
    this.#main = main
    const shared = await this.#retry.connect({...common, name: `mqttctl ${this.name} shared`}, common.reconnectTimeWait, this.#host.logger)
    if (shared === undefined) return void (await main.close())
    this.#shared = shared
    this.#watch(main, 'main')
    this.#watch(shared, 'shared')
    this.#filters.attach(main, shared)
    const host = this.#host
    this.#mover = new SessionMover(main, this.map.prefix, this.name, {...host.sessions, logger: host.logger, clock: host.clock})
    // Announce what this node holds (restored sessions, clients that connected while the link was
    // down) at once, then once a minute (drop the ended, add any missed). At once, not after the
    // directory check (./orphans.ts): a node not yet announced looks down to a CONNECT elsewhere.
    const announce = (): void => {
      this.#mover!.sweep((id) => host.holds(id))
      for (const id of host.held()) this.#mover!.hold(id)
    }
    announce()
    ;(this.#sweep = setInterval(announce, 60_000)).unref()
    main.subscribe(`${this.map.prefix}.n.stats`, {callback: (err, m) => err === null && this.peers.receive(m, this.#host.clock.now())})
    // Interest is network timing, not protocol time: the system clock even when the broker's is manual.
    const interest = (this.#interest = new RemoteInterest(main, this.map.prefix, this.id, () => systemClock.now(), this.#options.syncGraceMs, undefined, host.logger))
    interest.start(() => this.#filters.all())
    // Heartbeats: a node silent for PEER_TIMEOUT_MS (dead, partitioned) stops attracting exports.
    main.subscribe(`${this.map.prefix}.n.hb`, {callback: (err, m) => err === null && m.data.length <= 64 && interest.heard(Buffer.from(m.data).toString())})
    this.#heartbeat = setInterval(() => {
      interest.expire(PEER_TIMEOUT_MS)
      if (this.stats.connected) main.publish(`${this.map.prefix}.n.hb`, this.id)
    }, HEARTBEAT_MS)
    this.#heartbeat.unref()
    this.#setConnected()
    this.#host.logger.info(`cluster: node ${this.name} joined through NATS ${main.getServer()}`)
    // JetStream may still be electing leaders (a NATS cluster just started): retained messages and the
    // durable path each retry until it answers, apart (one failing does not hold the other back).
    const replicas = o.replicas ?? 1
    const wait = Math.max(o.reconnectWaitMs ?? 1000, 250)
    const failed = (what: string) => (error: unknown, first: boolean) => {
      this.#resolveReady()
      if (first) host.logger.error(`cluster: ${what} not shared with other nodes until JetStream answers (${jetStreamHint(error)}); retrying`)
    }
    const retained = await this.#retry.jetStream(() => [new RetainedSync(main, o.prefix, replicas, host, this.stats)] as const, wait, failed('retained messages'))
    if (retained !== undefined) this.#retained = retained.parts[0]
    const durable = await this.#retry.jetStream(
      // First the sessions other nodes took over while this one was down go (./orphans.ts: before this
      // node's copies are read, so none of those reaches a session that is no longer here); then the
      // copies; then this node's durable interest (written once its consumer exists).
      (q = new DurableQueue(main, this.map.prefix, this.token, this.id, replicas, host, this.stats, o)) => [
        new SessionFailover(main, this.directory, this.map.prefix, this.token, host, (id) => this.#mover?.drop(id), (id, ds, to) => q.forward(id, ds, to), (id, subs, to, upTo) => q.handOver(id, subs, to, upTo)),
        q,
        {stream: durableInterestStreamName(this.map.prefix), start: () => this.durableInterest.start(main, this.map.prefix, this.token, replicas, host.logger), stop: () => this.durableInterest.stop()},
      ] as const,
      wait,
      failed('QoS 1/2 copies for persistent sessions'),
    )
    if (durable !== undefined) [this.failover, this.#durable] = durable.parts
    if (retained?.retried || durable?.retried) host.logger.info('cluster: JetStream available again')
    this.#resolveReady()
  }

  #watch(nc: NatsConnection, which: 'main' | 'shared'): void {
    watchLink(nc, (up, data) => {
      if (!up) {
        if (this.stats.connected) {
          this.stats.disconnects++
          this.#host.logger.warn(`cluster: lost the NATS connection (${data}); serving local clients only until it is back`)
        }
        this.#down.add(which)
        this.#onLost?.()
        return this.#setConnected()
      }
      this.#down.delete(which)
      if (which === 'main') {
        this.#interest?.joined(() => this.#filters.all())
        this.durableInterest.rejoined()
        void this.failover?.recheck()
      }
      const was = this.stats.connected
      this.#setConnected()
      if (!was && this.stats.connected) this.#host.logger.info(`cluster: NATS connection back (${data}); rejoined`)
    })
  }

  /** Up when both connections are (the shared one serves shared groups). */
  #setConnected(): void {
    this.stats.connected = !this.#closed && this.#main !== undefined && this.#shared !== undefined && this.#down.size === 0
  }

  /** Other nodes whose interest this node knows. */
  get knownPeers(): number {
    return this.#interest?.peerCount ?? 0
  }

  /** A local filter gained a subscriber: NATS interest (./filters.ts). */
  addFilter(filter: string): void {
    if (!this.#closed) this.#filters.add(filter)
  }

  /** A local filter lost a subscriber. */
  removeFilter(filter: string): void {
    this.#filters.remove(filter)
  }

  /** Tokens of the other nodes that get `topic`'s QoS 1/2 messages through JetStream (empty while it is not available). */
  durableTargets(topic: string): string[] {
    return this.#durable === undefined ? [] : this.durableInterest.wanting(topic)
  }

  /**
   * Can this message go to the other nodes now? false when it stays local: the link is down, or the
   * topic is too long for a NATS subject, or the payload larger than NATS accepts (each counted and
   * logged at most once a minute). The caller then serves local shared groups itself.
   */
  exportable(msg: Message): boolean {
    if (!this.stats.connected) {
      this.stats.localOnly++
      return false
    }
    if (this.#interest !== undefined && !this.#interest.wanted(msg.topic)) {
      this.stats.notWanted++
      return false
    }
    if (this.map.topic(msg.topic) === undefined) {
      this.stats.unmapped++
      this.#logUnmapped(`topic ${JSON.stringify(msg.topic.slice(0, 200))}`)
      return false
    }
    const max = this.#main!.info?.max_payload ?? 1_048_576
    if (msg.payload.length > max) {
      this.stats.unmapped++
      this.#logUnmapped(`a ${msg.payload.length}-byte payload on ${JSON.stringify(msg.topic.slice(0, 200))}`, `is larger than NATS accepts (max_payload ${max})`)
      return false
    }
    return true
  }

  /**
   * Hands a message published on this node to the other nodes (after exportable(msg) said yes).
   * Returns JetStream's acknowledgement when copies went to nodes with persistent sessions that
   * want it (./durable.ts), else undefined.
   */
  export(msg: Message): Promise<void> | undefined {
    const subject = this.map.topic(msg.topic)!
    let headers = encodeHeaders(msg, this.#host.clock.now())
    const targets = msg.qos === 0 ? [] : this.durableTargets(msg.topic)
    if (targets.length > 0) (headers ??= natsHeaders()).set(JS_HEADER, targets.join(','))
    try {
      this.#main!.publish(subject, msg.payload, headers === undefined ? undefined : {headers})
    } catch (error) {
      this.stats.localOnly++
      this.#host.logger.warn(`cluster: publish to NATS failed: ${(error as Error)?.message ?? error}`)
      return undefined
    }
    this.stats.exported++
    if (msg.retain) this.#retained?.publish(msg)
    return targets.length > 0 ? this.#durable!.publish(msg, targets) : undefined
  }

  #logUnmapped(what: string, why = `is longer than a NATS subject may be (${this.map.maxSubjectBytes} bytes mapped)`): void {
    const now = this.#host.clock.now()
    if (now - this.#lastUnmappedLog < LOG_EVERY_MS) return
    this.#lastUnmappedLog = now
    this.#host.logger.warn(`cluster: ${what} ${why}: served on this node only (${this.stats.unmapped} so far, logged once a minute)`)
  }

  /** A client connects here: take it over from the node that holds it (or is down: ./orphans.ts). At once while the link is down. */
  async claimSession(clientId: string, username?: string): Promise<ClaimResult> {
    if (!this.stats.connected || this.#mover === undefined) return 'ok'
    try {
      const found = await this.#mover.claim(clientId, username)
      if (found === 'nobody') await this.failover?.claim(clientId)
      return found
    } catch (error) {
      // The CONNECT goes on with this node's own state rather than failing.
      this.#host.logger.warn(`cluster: could not ask the other nodes about client ${JSON.stringify(clientId.slice(0, 200))}: ${(error as Error)?.message ?? error}`)
      return 'ok'
    }
  }

  /** Session-move figures: moved away, adopted here, connections taken over from here, clients announced. */
  get sessionStats(): {moved: number; adopted: number; takeovers: number; holding: number} {
    return {moved: this.#mover?.moved ?? 0, adopted: this.#mover?.adopted ?? 0, takeovers: this.#mover?.takeovers ?? 0, holding: this.#mover?.holding ?? 0}
  }

  /** A retained message no other node wants now still goes to the stream, for their future subscribers. */
  retainOnly(msg: Message): void {
    if (this.stats.connected) this.#retained?.publish(msg)
  }

  /** Shares this node's figures with the others (no-op while the link is down). */
  shareFigures(f: NodeFigures): void {
    if (!this.stats.connected) return
    this.#main!.publish(`${this.map.prefix}.n.stats`, JSON.stringify({id: this.id, ...f}))
  }

  /** A round trip on the publishing connection (bounded: rejects after 5 s, e.g. while NATS is away). */
  flushExports(): Promise<void> {
    return flushWithin(this.#main, 5000)
  }

  /** A round trip to NATS on both connections: every subscription and publish before it reached the server. */
  async flush(): Promise<void> {
    await Promise.all([this.#main?.flush(), this.#shared?.flush()])
  }

  /**
   * Publishes what is buffered, then closes both connections. While every NATS server is gone (the
   * link is down) nothing buffered can leave: the connections are closed at once, without the
   * graceful JetStream and drain steps that would each wait for their own timeout.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    const linked = this.stats.connected
    this.#closed = true
    this.stats.connected = false
    this.#retry.close()
    clearInterval(this.#sweep)
    clearInterval(this.#heartbeat)
    this.#mover?.close()
    if (!linked) await closeNow([this.#main, this.#shared])
    await this.#retained?.stop()
    await this.#durable?.stop()
    await this.durableInterest.stop()
    await this.failover?.stop()
    // Servers that die during the drain (noticed a moment after close() began): close at once too.
    if (linked) await drainAll([this.#main, this.#shared], DRAIN_TIMEOUT_MS, this.#host.clock, new Promise<void>((lost) => (this.#onLost = lost)))
  }
}
