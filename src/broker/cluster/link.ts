/**
 * Network waits of a cluster node: the first NATS connect (retried until it works or the node
 * closes; nats.js cannot cancel its own first-connect wait) and pauses between retries (real time,
 * unref'd: a retry is not protocol time) that close() cuts short.
 */
import {type ConnectionOptions, type JetStreamManager, type NatsConnection, type StreamConfig, type StreamInfo, connect} from 'nats'
import {type Clock, systemClock} from '../clock.js'
import type {Logger} from '../log.js'

export class Retry {
  #closed = false
  #wake: (() => void) | undefined

  get closed(): boolean {
    return this.#closed
  }

  /** Ends every wait now; later connects return undefined. */
  close(): void {
    this.#closed = true
    this.#wake?.()
  }

  /** Waits `ms` (or less, when close() is called). */
  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      timer.unref()
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /**
   * Starts what needs JetStream, retrying until it answers (a NATS cluster just started may still be
   * electing its leaders): `make` builds fresh parts for each attempt, a failed attempt stops them.
   * undefined once close() was called.
   */
  async jetStream<T extends ReadonlyArray<{start(): Promise<void>; stop(): Promise<void>; readonly stream: string}>>(
    make: () => T,
    waitMs: number,
    failed: (error: unknown, first: boolean) => void,
  ): Promise<{parts: T; retried: boolean} | undefined> {
    let retried = false
    while (!this.#closed) {
      const parts = make()
      try {
        for (const p of parts) await p.start()
        return {parts, retried}
      } catch (error) {
        for (const p of parts) await p.stop().catch(() => {})
        failed(error, !retried)
        retried = true
        await this.pause(waitMs)
      }
    }
    return undefined
  }

  /** connect() until it works (warning once) or close() is called (undefined). */
  async connect(opts: ConnectionOptions, waitMs: number, logger: Logger): Promise<NatsConnection | undefined> {
    let warned = false
    while (!this.#closed) {
      try {
        const nc = await connect(opts)
        if (this.#closed) {
          await nc.close()
          return undefined
        }
        return nc
      } catch (error) {
        if (!warned) {
          warned = true
          const servers = Array.isArray(opts.servers) ? opts.servers.join(', ') : String(opts.servers)
          logger.warn(`cluster: cannot reach NATS at ${servers} (${(error as Error)?.message ?? error}); serving local clients only, retrying`)
        }
        await this.pause(waitMs)
      }
    }
    return undefined
  }
}

/** "JetStream is not enabled" in words a user can act on, else the error's own message. */
export function jetStreamHint(error: unknown): string {
  const why = (error as Error)?.message ?? String(error)
  return /^503\b|no responders/i.test(why) ? 'JetStream is not enabled on that NATS server: start nats-server with -js (or jetstream {} in its configuration)' : why
}

/** How long a stop waits for NATS to take what is buffered before it closes the connection anyway. */
export const DRAIN_TIMEOUT_MS = 2_000

/**
 * Closes NATS connections after publishing what is buffered (drain); closes without draining when
 * drain fails or does not finish within `timeoutMs` on `clock` (a server that stopped answering
 * without closing the socket: drain would wait for a reconnect that may never come, and the
 * broker's stop with it), or once `lost` resolves (the link went down meanwhile). A connection known
 * to be down is not drained at all: see closeNow().
 */
export async function drainAll(conns: Array<NatsConnection | undefined>, timeoutMs = DRAIN_TIMEOUT_MS, clock: Clock = systemClock, lost?: Promise<void>): Promise<void> {
  const gone = lost?.then(() => Promise.reject(new Error('NATS link lost while draining')))
  gone?.catch(() => {})
  await Promise.all(conns.filter((c): c is NatsConnection => c !== undefined).map(async (c) => {
    let timer: unknown
    try {
      await Promise.race([c.drain(), new Promise((_, reject) => (timer = clock.setTimeout(() => reject(new Error('drain timed out')), timeoutMs))), ...(gone ? [gone] : [])])
    } catch {
      await c.close().catch(() => {})
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer)
    }
  }))
}

/**
 * Closes NATS connections at once, dropping what is buffered: the stop path of a node whose NATS
 * servers are all gone (nothing buffered can reach them; every graceful step would only wait for
 * its own timeout).
 */
export async function closeNow(conns: Array<NatsConnection | undefined>): Promise<void> {
  await Promise.all(conns.map((c) => c?.close().catch(() => {})))
}

/** A round trip to the NATS server on `nc`, rejected after `ms` (e.g. while NATS is away) or without a connection. */
export function flushWithin(nc: NatsConnection | undefined, ms: number): Promise<void> {
  if (nc === undefined) return Promise.reject(new Error('not connected to NATS'))
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`NATS did not confirm within ${ms / 1000} s`)), ms)
    timer.unref()
    nc.flush().then(
      () => (clearTimeout(timer), resolve()),
      (error: unknown) => (clearTimeout(timer), reject(error instanceof Error ? error : new Error(String(error)))),
    )
  })
}

/** Calls `changed(false, why)` when `nc` loses its server and `changed(true, server)` when it is back. */
export function watchLink(nc: NatsConnection, changed: (up: boolean, data: string) => void): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') changed(false, String(s.data))
      else if (s.type === 'reconnect') changed(true, String(s.data))
    }
  })().catch(() => {})
}

/** The stream's info; made with `config` first when it does not exist (one that exists is used as it is). */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & {name: string}): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(config.name)
  } catch (error) {
    if (!/stream not found/i.test((error as Error).message)) throw error
    return await jsm.streams.add(config)
  }
}
