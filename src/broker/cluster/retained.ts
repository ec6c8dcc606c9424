/**
 * Retained messages across nodes: one JetStream stream keeping the last message per subject
 * ("<prefix>.r.t.<levels>", "<prefix>.r.s.<levels>" for '$' topics). A node publishing a retained
 * message (or deleting one: an empty message) also writes it to the stream; every node reads the
 * stream with an ordered consumer, from the last message of each subject on, and applies each
 * message to its own store in stream order, its own ones included, so all nodes end with the same
 * message per topic (the stream's order decides between two nodes publishing at once).
 * New subscribers read the local store, so a SUBSCRIBE never waits for NATS; a message retained on
 * another node shows up here once the stream delivered it (normally within milliseconds).
 */
import {type ConsumerMessages, DeliverPolicy, DiscardPolicy, type JetStreamClient, type NatsConnection, StorageType} from 'nats'
import type {Message} from '../message.js'
import type {ClusterHost, ClusterStats} from './host.js'
import {SubjectMap} from './subjects.js'
import {WireError, decodeMessage, encodeHeaders} from './wire.js'

/** Retained writes waiting for JetStream's ack; beyond it a write is refused (counted, logged). */
const MAX_PENDING = 10_000

export function retainedStreamName(prefix = 'mqtt'): string {
  return `MQTT_RETAINED_${prefix.replaceAll('.', '_')}`
}

export class RetainedSync {
  readonly map: SubjectMap
  readonly stream: string
  readonly #nc: NatsConnection
  readonly #js: JetStreamClient
  readonly #replicas: number
  readonly #host: ClusterHost
  readonly #stats: ClusterStats
  #messages: ConsumerMessages | undefined
  #pending = 0
  #stopped = false
  #lastErrorLog = -Infinity

  constructor(nc: NatsConnection, prefix: string | undefined, replicas: number, host: ClusterHost, stats: ClusterStats) {
    this.#nc = nc
    this.#js = nc.jetstream()
    this.map = new SubjectMap({prefix}, 'r')
    this.stream = retainedStreamName(prefix)
    this.#replicas = replicas
    this.#host = host
    this.#stats = stats
  }

  /** Makes sure the stream exists and loads every retained message; resolves once loaded. */
  async start(): Promise<void> {
    const jsm = await this.#nc.jetstreamManager()
    let last = 0
    try {
      const info = await jsm.streams.info(this.stream)
      last = info.state.last_seq
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error
      await jsm.streams.add({
        name: this.stream,
        subjects: [this.map.all],
        max_msgs_per_subject: 1,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        num_replicas: this.#replicas,
      })
    }
    const consumer = await this.#js.consumers.get(this.stream, {filterSubjects: this.map.all, deliver_policy: DeliverPolicy.LastPerSubject})
    const messages = await consumer.consume()
    this.#messages = messages
    let loaded: () => void = () => {}
    const done = last === 0 ? Promise.resolve() : new Promise<void>((resolve) => (loaded = resolve))
    void (async () => {
      for await (const m of messages) {
        this.#apply(m.subject, m.data, m.headers)
        if (m.seq >= last) loaded()
      }
    })().catch((error: unknown) => {
      if (!this.#stopped) this.#host.logger.error(`cluster: retained stream reader stopped: ${(error as Error)?.message ?? error}`)
    })
    if (this.#stopped) return
    await done
  }

  #apply(subject: string, data: Uint8Array, headers: Parameters<typeof decodeMessage>[2]): void {
    const topic = this.map.toTopic(subject)
    if (topic === undefined) {
      this.#stats.malformed++
      return
    }
    let msg: Message
    try {
      msg = decodeMessage(topic, Buffer.from(data), headers, this.#host.clock.now()).msg
    } catch (error) {
      if (!(error instanceof WireError)) throw error
      this.#stats.malformed++
      return
    }
    this.#stats.retainedIn++
    msg.retain = true
    msg.owned = true // Buffer.from(data) above is its own copy
    this.#host.applyRetained(msg)
  }

  /** Writes a retained message (or its deletion) of this node to the stream; not awaited. */
  publish(msg: Message): void {
    const subject = this.map.topic(msg.topic)
    if (subject === undefined) return // the caller counted the topic as unmapped
    if (this.#pending >= MAX_PENDING) {
      this.#error(`more than ${MAX_PENDING} retained writes waiting for JetStream`)
      return
    }
    this.#pending++
    const headers = encodeHeaders(msg, this.#host.clock.now(), {absoluteExpiry: true})
    this.#js.publish(subject, msg.payload, headers === undefined ? undefined : {headers}).then(
      () => {
        this.#pending--
        this.#stats.retainedOut++
      },
      (error: unknown) => {
        this.#pending--
        this.#error((error as Error)?.message ?? String(error))
      },
    )
  }

  #error(what: string): void {
    this.#stats.retainedErrors++
    const now = this.#host.clock.now()
    if (now - this.#lastErrorLog < 60_000) return
    this.#lastErrorLog = now
    this.#host.logger.warn(`cluster: a retained message was not written to the stream ${this.stream}: ${what} (${this.#stats.retainedErrors} so far); other nodes may not see it`)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#messages?.close()
  }
}
