/**
 * A broker that is one node of a cluster: the broker of ../broker.ts, its router wrapped so that
 * accepted messages also go to the other nodes (./node.ts), its subscriptions watched so that NATS
 * knows this node's interest, and the NATS link started after listen() and closed after close().
 *
 * Routing (ClusterRouter.route):
 *   1. local subscribers first, synchronously: a message with only local subscribers never waits
 *      for NATS;
 *   2. then one NATS publish, which NATS forwards only to nodes with interest;
 *   3. shared subscriptions: while the link is up they are served through NATS queue groups (each
 *      message once in the whole cluster, this node's members included); while it is down, locally.
 * '$SYS/...' topics stay on the node that made them: each node has its own $SYS.
 */
import {hostname} from 'node:os'
import type {BrokerConfig} from '../../config/schema.js'
import {BrokerImpl} from '../broker.js'
import type {Fanout} from '../fanout.js'
import type {Broker, BrokerOptions, ListeningAddress} from '../index.js'
import type {Message} from '../message.js'
import type {RouteSource, Router} from '../router.js'
import type {AuthOutcome, Authorizer, ConnectCredentials, Identity} from '../auth/authorizer.js'
import {authorizerFromConfig, isReloadable} from '../auth/from-config.js'
import type {ReloadReport} from '../auth/file-authorizer.js'
import {systemClock} from '../clock.js'
import {silentLogger} from '../log.js'
import {BrokerStats} from '../stats/counters.js'
import type {Delivery} from '../message.js'
import type {ClaimResult, MovedSession} from './sessions.js'
import {checkClusterConfig} from './config.js'
import {startClusterSys} from './sys.js'
import {ExportAcks, withExportAcks} from './acks.js'
import {watchDurableSubscriptions} from './durable-subs.js'
import {MemoryStore} from '../persistence/memory.js'
import {RC} from '../protocol/reason-codes.js'
import {type ClusterHost, ClusterNode, type ClusterOptions, type ClusterStats} from './node.js'
import {AppliedMarks} from './applied.js'

export {ClusterNode, ClusterStats} from './node.js'
export {checkClusterConfig, parseNatsUrls, ClusterConfigError} from './config.js'

const minQos = (a: number, b: number): 0 | 1 | 2 => (a < b ? a : b) as 0 | 1 | 2

/** Is the topic one that stays on this node ($SYS)? */
function nodeLocal(topic: string): boolean {
  return topic.charCodeAt(0) === 0x24 && topic.startsWith('$SYS/')
}

export class ClusterRouter implements Router {
  readonly #local: Fanout
  readonly #node: ClusterNode
  readonly #acks: ExportAcks

  constructor(local: Fanout, node: ClusterNode, acks: ExportAcks) {
    this.#local = local
    this.#node = node
    this.#acks = acks
  }

  route(msg: Message, source?: RouteSource): void {
    const node = this.#node
    const exported = !nodeLocal(msg.topic) && node.exportable(msg)
    // Shared groups go through NATS when the message does; else this node serves them.
    this.#local.route(msg, source, exported)
    if (!exported) {
      // No other node wants it now; a retained one still goes to the stream for their later subscribers.
      if (msg.retain && !nodeLocal(msg.topic)) node.retainOnly(msg)
      return
    }
    const stored = node.export(msg)
    // Its PUBACK / PUBREC waits until NATS has it, and JetStream its copies for persistent sessions elsewhere (./acks.ts).
    if (msg.qos !== 0) this.#acks.exported(stored)
  }
}

/** A Broker that is a cluster node. */
export class ClusterBroker implements Broker {
  readonly impl: BrokerImpl
  readonly node: ClusterNode
  #started = false
  #stopSys: (() => void) | undefined

  readonly #applied: AppliedMarks

  /** `extra`: cluster options that are not configuration (tests: a short ack wait, fault-injection hooks). */
  constructor(config: BrokerConfig, options: BrokerOptions = {}, extra: Pick<ClusterOptions, 'ackWaitMs' | 'hooks'> = {}) {
    const cluster = checkClusterConfig(config.cluster)
    let node: ClusterNode | undefined
    let local: Fanout | undefined
    let claim: (clientId: string, username?: string) => Promise<ClaimResult> = async () => 'ok'
    const acks = new ExportAcks({flush: () => node!.flushExports()})
    // The same defaults BrokerImpl would pick, made here so the authorizer can be wrapped.
    const stats = options.stats ?? new BrokerStats()
    const clock = options.clock ?? systemClock
    const logger = options.logger ?? silentLogger
    const inner = options.authorizer ?? authorizerFromConfig(config, {clock, logger, counters: stats})
    const innerStore = options.store ?? new MemoryStore()
    // Marks are not retained messages: the broker's figure is set again without them after each write.
    const applied = (this.#applied = new AppliedMarks(innerStore, () => (stats.retainedMessages = this.impl.store.retainedCount)))
    const impl = new BrokerImpl(config, {
      ...options,
      stats,
      clock,
      logger,
      store: withExportAcks(innerStore, acks, () => applied.size),
      authorizer: new ClusterAuthorizer(inner, (id, user) => claim(id, user), () => node?.connected ?? false),
      router: (fanout) => {
        local = fanout as Fanout
        return {route: (msg, source) => router.route(msg, source)}
      },
    })
    const host: ClusterHost = {
      logger: impl.logger,
      clock: impl.clock,
      deliverLocal: (msg) => local!.route(msg, undefined, true),
      deliverTo: (id, msg) => this.#deliverTo(id, msg),
      deliverShared: (msg, name) => this.#deliverShared(msg, name),
      applyRetained: (msg) => this.#applyRetained(msg),
      holds: (id) => this.impl.clients.has(id) || this.impl.store.getSession(id) !== undefined,
      held: () => this.#held(),
      whenStored: (cb) => innerStore.whenDurable(innerStore.writeSeq, cb),
      applied,
      sessions: {
        disconnect: (id) => {
          const conn = this.impl.clients.get(id)
          if (conn === undefined) return false
          conn.disconnect(RC.SESSION_TAKEN_OVER)
          return true
        },
        getSession: (id) => this.impl.store.getSession(id),
        mayTakeOver: (id, next) => {
          const current = this.impl.clients.get(id)?.identity
          return current === undefined || this.impl.authorizer.canTakeOver(next, current)
        },
        release: (session) => {
          this.node.directory.forget(session.clientId) // the new holder writes its own record
          this.impl.sessions.end(session, false)
        },
        adopt: (moved) => this.#adopt(moved),
      },
    }
    node = new ClusterNode(host, {
      servers: cluster.servers,
      prefix: cluster.subjectPrefix,
      name: cluster.nodeName ?? defaultNodeName(config),
      replicas: cluster.replicas,
      ...extra,
    })
    const router = new ClusterRouter(local!, node, acks)
    claim = (id, user) => node!.claimSession(id, user)
    impl.subscriptions.observer = {added: (f) => node.addFilter(f), removed: (f) => node.removeFilter(f)}
    watchDurableSubscriptions(impl.subscriptions, node.durableInterest, (s, ended) => node.directory.changed(s, ended))
    this.impl = impl
    this.node = node
  }

  get config(): BrokerConfig {
    return this.impl.config
  }
  get stats() {
    return this.impl.stats
  }
  get logger() {
    return this.impl.logger
  }
  get clusterStats(): ClusterStats {
    return this.node.stats
  }

  async listen(): Promise<ListeningAddress[]> {
    const addresses = await this.impl.listen()
    // The store is open: the marks of JetStream copies applied before a restart (./applied.ts).
    this.#applied.load(this.impl.clock.now())
    this.impl.stats.retainedMessages = this.impl.store.retainedCount
    this.#started = true
    this.node.start()
    const {stats, clock, logger, config} = this.impl
    this.#stopSys = startClusterSys({node: this.node, stats, clock, logger, broker: this.impl, intervalSeconds: config.statsInterval})
    return addresses
  }

  /** Local clients first (their wills still reach the cluster), then the NATS link. */
  async close(): Promise<void> {
    this.#stopSys?.()
    await this.impl.close()
    if (this.#started) await this.node.close()
  }

  publish(topic: string, payload: Buffer | string, options?: {qos?: 0 | 1 | 2; retain?: boolean}): void {
    this.impl.publish(topic, payload, options)
  }

  clientCount(): number {
    return this.impl.clientCount()
  }

  reload(): ReloadReport {
    return this.impl.reload()
  }

  /** One online member of the local group (any member when none is online: a persistent session queues it). */
  #deliverShared(msg: Message, name: string): boolean {
    const impl = this.impl
    const group = impl.subscriptions.sharedGroup(name)
    if (group === undefined) return false
    const pick = impl.subscriptions.pickShared(group, (id) => impl.clients.has(id)) ?? impl.subscriptions.pickShared(group)
    if (pick === undefined) return false
    const o = pick.options
    impl.outbound.deliver(pick.clientId, msg, minQos(msg.qos, o.qos), o.retainAsPublished && msg.retain, o.subscriptionId === undefined ? undefined : [o.subscriptionId], name)
    return true
  }

  /** A message forwarded for one session (./orphans.ts): delivered as its subscriptions match, if it is here. */
  #deliverTo(clientId: string, msg: Message): boolean {
    const impl = this.impl
    if (impl.store.getSession(clientId) === undefined) return false
    const m = impl.subscriptions.match(msg.topic).clients.find((c) => c.clientId === clientId)
    if (m === undefined) return false
    impl.outbound.deliver(clientId, msg, minQos(msg.qos, m.qos), m.retainAsPublished && msg.retain, m.subscriptionIds.length > 0 ? m.subscriptionIds : undefined)
    return true
  }

  *#held(): Iterable<string> {
    for (const c of this.impl.clients.values()) yield c.clientId
    for (const s of this.impl.store.sessions()) if (!this.impl.clients.has(s.clientId)) yield s.clientId
  }

  /** A session that moved here from another node: store, subscriptions, QoS 2 state, messages. */
  #adopt(m: MovedSession): void {
    const {store, subscriptions, sessions, stats, outbound, clock} = this.impl
    const old = store.getSession(m.clientId)
    if (old !== undefined) sessions.end(old, false) // the moved one is the client's latest
    const s = store.createSession(m.clientId, m.expiryInterval)
    for (const [filter, options] of m.subscriptions) subscriptions.add(s, filter, options)
    for (const id of m.incoming) store.addIncoming(s, id)
    s.lastPacketId = m.lastPacketId
    s.disconnectedAt = clock.now()
    stats.sessionsOrphan++
    if (m.pendingWill !== undefined) {
      s.pendingWill = m.pendingWill
      s.willAt = clock.now() + (m.willIn ?? 0)
    }
    for (const d of m.deliveries) {
      if (d.packetId !== 0 && (d.sent || d.released) && !s.inflight?.has(d.packetId)) store.setInflight(s, d)
      else outbound.enqueue(s, {...d, packetId: 0, sent: false, released: false} satisfies Delivery)
    }
    stats.sessionsTotal = store.sessionCount
  }

  /** A retained message from the cluster's stream into the local store. */
  #applyRetained(msg: Message): void {
    const {store, stats, clock} = this.impl
    if (msg.payload.length === 0 || (msg.expiresAt !== 0 && msg.expiresAt <= clock.now())) store.deleteRetained(msg.topic)
    else store.setRetained({topic: msg.topic, payload: msg.payload, qos: msg.qos, properties: msg.properties as Record<string, unknown> | undefined, raw: msg.raw, expiresAt: msg.expiresAt === 0 ? undefined : msg.expiresAt})
    stats.retainedMessages = store.retainedCount
  }
}

/**
 * The broker's authorizer, plus one step after a successful authentication: the client is taken
 * over from whichever node holds it and its session moved here (./sessions.ts), before the CONNECT
 * goes on. While the link is down the inner answer is returned as it is (synchronous when it was).
 */
class ClusterAuthorizer implements Authorizer {
  readonly #inner: Authorizer
  readonly #claim: (clientId: string, username?: string) => Promise<ClaimResult>
  readonly #up: () => boolean

  /** Present when the inner authorizer re-reads its files (SIGHUP): the broker finds them here. */
  readonly reload?: () => ReloadReport
  readonly describe?: () => string

  constructor(inner: Authorizer, claim: (clientId: string, username?: string) => Promise<ClaimResult>, up: () => boolean) {
    this.#inner = inner
    this.#claim = claim
    this.#up = up
    if (isReloadable(inner)) {
      this.reload = () => inner.reload()
      this.describe = () => inner.describe()
    }
  }

  get checksAccess(): boolean {
    return this.#inner.checksAccess
  }

  authenticate(c: ConnectCredentials): AuthOutcome | Promise<AuthOutcome> {
    const outcome = this.#inner.authenticate(c)
    if (c.clientId === '' || !this.#up()) return outcome
    return Promise.resolve(outcome).then(async (o): Promise<AuthOutcome> => {
      if (!o.ok) return o
      // The node holding the client may refuse the take-over (auth.takeOver: same user only).
      if ((await this.#claim(c.clientId, o.identity.username)) === 'refused') return {ok: false, reasonCode: RC.NOT_AUTHORIZED}
      return o
    })
  }

  canPublish(identity: Identity, topic: string): boolean {
    return this.#inner.canPublish(identity, topic)
  }

  canSubscribe(identity: Identity, filter: string): boolean {
    return this.#inner.canSubscribe(identity, filter)
  }

  canRead(identity: Identity, topic: string): boolean {
    return this.#inner.canRead(identity, topic)
  }

  canTakeOver(next: Identity, current: Identity): boolean {
    return this.#inner.canTakeOver(next, current)
  }
}

/**
 * host-port of the first listener with a fixed port: the same across restarts (a node's JetStream
 * consumer is named after it) and different for two nodes on one host. undefined (host-pid) when every
 * port is 0.
 */
function defaultNodeName(config: BrokerConfig): string | undefined {
  const port = config.listeners.find((l) => l.port > 0)?.port
  return port === undefined ? undefined : `${hostname()}-${port}`
}

/** A cluster node when config.cluster.servers is set; the caller decides (the single-process default never loads this module). */
export function createClusterBroker(config: BrokerConfig, options: BrokerOptions = {}, extra: Pick<ClusterOptions, 'ackWaitMs' | 'hooks'> = {}): ClusterBroker {
  return new ClusterBroker(config, options, extra)
}
