/**
 * What a cluster node needs from its broker (ClusterHost) and the figures it keeps (ClusterStats): a
 * leaf module, so node.ts and the parts it owns (retained.ts) share the types without a cycle.
 */
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Message} from '../message.js'
import type {AppliedMarks} from './applied.js'
import type {SessionHost} from './sessions.js'

export interface ClusterHost {
  readonly logger: Logger
  readonly clock: Clock
  /** Local delivery of a message from another node, non-shared subscribers only. */
  deliverLocal(msg: Message): void
  /** Delivery to one session here, as its subscriptions match the topic; false when it has none here. */
  deliverTo(clientId: string, msg: Message): boolean
  /** Local delivery of a message to one member of the local shared group `name` ("$share/g/f"); false when it has none online. */
  deliverShared(msg: Message, name: string): boolean
  /** A retained message from the cluster's stream: store it (empty payload: delete it). */
  applyRetained(msg: Message): void
  /** Sessions moving between nodes (./sessions.ts). */
  readonly sessions: Omit<SessionHost, 'logger' | 'clock'>
  /** Does this node hold the client (connected, or a session waiting for it)? */
  holds(clientId: string): boolean
  /** Client ids this node holds now (connected clients and stored sessions). */
  held(): Iterable<string>
  /** cb() once what the local store holds now is durable (JetStream copies are acked after it). */
  whenStored(cb: (err?: Error) => void): void
  /** JetStream copies applied and not yet acknowledged, kept in the local store (absent: in memory only). */
  readonly applied?: AppliedMarks
}

/** Test hooks: the moments a fault injection stops a node at (a test's child process kills itself there). */
export interface ClusterHooks {
  /** A JetStream copy's deliveries and its applied mark are written, not yet durable. */
  copyApplied?(): void
  /** ... durable, not yet acknowledged to JetStream. */
  copyStored?(): void
}

/** How a node reaches NATS. */
export interface ClusterOptions {
  /** NATS server URLs (nats://host:port), tried in turn. */
  servers: string[]
  /** First subject token(s); two clusters can share one NATS with different prefixes. */
  prefix?: string
  /** This node's name in logs and $SYS (default host-pid). */
  name?: string
  maxSubjectBytes?: number
  /** JetStream replicas of the retained stream (1 on a single NATS server, 3 on a cluster of 3). */
  replicas?: number
  /** Milliseconds between reconnect attempts. */
  reconnectWaitMs?: number
  /** After joining, every message is exported this long while the other nodes' interest arrives (default 2 s). */
  syncGraceMs?: number
  /** How long JetStream waits for this node's ack of a copy before it sends it again (default 30 s; set when the consumer is made). */
  ackWaitMs?: number
  hooks?: ClusterHooks
}

/** Cluster figures for $SYS, Prometheus and monitor. */
export class ClusterStats {
  connected = false
  /** Messages handed to NATS. */
  exported = 0
  /** Messages received from other nodes and delivered here. */
  imported = 0
  /** Messages received through shared-subscription queue groups. */
  importedShared = 0
  /** Messages kept local because the link was down. */
  localOnly = 0
  /** Messages not handed to NATS because no other node wants their topic. */
  notWanted = 0
  /** Topics / filters too long to map to a NATS subject (served locally only). */
  unmapped = 0
  /** Malformed messages from NATS, dropped. */
  malformed = 0
  /** NATS subscriptions open now (plain + queue). */
  natsSubscriptions = 0
  /** Times the link went down since start. */
  disconnects = 0
  /** Retained messages written to / read from the stream. */
  retainedOut = 0
  retainedIn = 0
  retainedErrors = 0
  /** QoS 1/2 copies for persistent sessions on other nodes: written to JetStream / refused by it. */
  durableOut = 0
  durableErrors = 0
  /** Copies dropped because the stream was full (the publisher's ack not refused for them). */
  durableDropped = 0
  /** Copies read from this node's JetStream consumer and delivered / repeats acked without delivery. */
  durableIn = 0
  durableDuplicates = 0
}
