/**
 * <dataDir>/subscriptions.json: a readable view of the persistent sessions and their subscriptions
 * for people and tools (the guide's file). The store is the truth; this file is rewritten from it
 * atomically (temporary file, fsync, rename, fsync of the directory) at most every intervalMs after
 * a change, and on stop. Built a slice of sessions at a time, so 100,000 sessions do not stall the
 * broker. At start a garbage file is reported in one line, moved aside and rewritten.
 */
import {setImmediate as nextTurn} from 'node:timers/promises'
import {existsSync, readFileSync, renameSync, statSync} from 'node:fs'
import type {Logger} from '../log.js'
import {validateTopicFilter} from '../protocol/topics.js'
import {MAX_VARIABLE_BYTE_INTEGER} from '../protocol/versions.js'
import type {SubOptions} from '../topics/types.js'
import {replaceFile, type StoreFs, stampOf} from './files.js'
import type {SessionRecord, Store} from './store.js'

/** Largest subscriptions.json read at start (a view: bigger than this is not parsed). */
export const MAX_VIEW_BYTES = 512 * 1024 * 1024
const SLICE = 2000

export interface ViewSession {
  clientId: string
  expiryInterval: number
  subscriptions: Array<{filter: string; options: SubOptions}>
}

interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

function subJson(filter: string, o: SubOptions): string {
  const parts = [`"filter":${JSON.stringify(filter)}`, `"qos":${o.qos}`]
  if (o.noLocal) parts.push('"noLocal":true')
  if (o.retainAsPublished) parts.push('"retainAsPublished":true')
  if (o.retainHandling !== 0) parts.push(`"retainHandling":${o.retainHandling}`)
  if (o.subscriptionId !== undefined) parts.push(`"subscriptionId":${o.subscriptionId}`)
  return `{${parts.join(',')}}`
}

export class SubscriptionsFile {
  readonly #path: string
  readonly #intervalMs: number
  readonly #fs: StoreFs
  readonly #timers: Timers
  readonly #log: Logger
  readonly #sessions: () => Iterable<SessionRecord>
  #dirty = false
  #timer: unknown
  #writing: Promise<void> | undefined
  #stopped = false
  #failing = false
  writes = 0

  constructor(o: {path: string; intervalMs: number; fs: StoreFs; timers: Timers; logger: Logger; sessions: () => Iterable<SessionRecord>}) {
    this.#path = o.path
    this.#intervalMs = o.intervalMs
    this.#fs = o.fs
    this.#timers = o.timers
    this.#log = o.logger
    this.#sessions = o.sessions
  }

  /** `rewrite`: the file is missing, was garbage or is stale: write it soon. */
  start(rewrite: boolean): void {
    if (rewrite) this.changed()
  }

  /** A subscription or a persistent session changed: the file is rewritten within intervalMs. */
  changed(): void {
    this.#dirty = true
    if (this.#timer !== undefined || this.#stopped) return
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined
      void this.#write()
    }, this.#intervalMs)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#writing
    if (this.#dirty || !existsSync(this.#path)) await this.#write(true)
  }

  /** Writes the view now (when dirty); resolves when it is on disk. */
  flush(): Promise<void> {
    this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
    return this.#write(true)
  }

  async #write(force = false): Promise<void> {
    if (this.#writing) {
      await this.#writing
      if (!this.#dirty && !force) return
    }
    this.#dirty = false
    this.#writing = this.#build().then(
      (data) => replaceFile(this.#fs, this.#path, data),
    )
    try {
      await this.#writing
      this.writes++
      if (this.#failing) this.#log.info(`Store: ${this.#path} written again`)
      this.#failing = false
    } catch (error) {
      // A view: the store is the truth. Tried again at the next change or stop.
      this.#dirty = true
      if (!this.#failing) this.#log.warn(`Store: cannot write ${this.#path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the store keeps the subscriptions, the view is retried`)
      this.#failing = true
    } finally {
      this.#writing = undefined
    }
  }

  /** The JSON, a slice of sessions per event-loop turn. */
  async #build(): Promise<Buffer[]> {
    const out: Buffer[] = [Buffer.from(`{\n"about": "persistent sessions and their subscriptions, a view of the store (store/ is the truth)",\n"writtenAt": ${JSON.stringify(new Date().toISOString())},\n"sessions": [`)]
    let lines: string[] = []
    let first = true
    let n = 0
    for (const s of [...this.#sessions()]) {
      if (s.expiryInterval === 0) continue
      const subs = [...s.subscriptions].map(([f, o]) => subJson(f, o)).join(',')
      lines.push(`${first ? '' : ','}\n{"clientId":${JSON.stringify(s.clientId)},"expiryInterval":${s.expiryInterval},"subscriptions":[${subs}]}`)
      first = false
      if (++n % SLICE === 0) {
        out.push(Buffer.from(lines.join('')))
        lines = []
        await nextTurn()
      }
    }
    out.push(Buffer.from(`${lines.join('')}\n]\n}\n`))
    return out
  }
}

/** An MQTT UTF-8 string: no U+0000 [MQTT-1.5.4-2], no lone surrogate (it would not come back from disk the same). */
const mqttString = (s: string): boolean => !s.includes('\u0000') && (s as string & {isWellFormed(): boolean}).isWellFormed()

function problemOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object'
  const sessions = (raw as {sessions?: unknown}).sessions
  if (!Array.isArray(sessions)) return '"sessions" is not a list'
  return undefined
}

/**
 * Reads the view at start. Missing: undefined. Garbage: one log line, moved aside, undefined.
 * Otherwise its valid sessions (entries with a bad client id, expiry, filter or QoS are skipped and
 * counted in one line).
 */
export function readSubscriptionsFile(path: string, log: Logger, now: number): ViewSession[] | undefined {
  if (!existsSync(path)) return undefined
  let raw: unknown
  let problem: string | undefined
  try {
    // The size first: a huge file is never read into memory.
    if (statSync(path).size > MAX_VIEW_BYTES) problem = `larger than ${MAX_VIEW_BYTES} bytes`
    else raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    problem = (error as Error).message
  }
  problem ??= problemOf(raw)
  if (problem !== undefined) {
    const aside = `${path}.bad-${stampOf(now)}`
    try {
      renameSync(path, aside)
      log.warn(`Store: ${path} is not a valid view (${problem}): ignored, moved to ${aside}; it is rewritten from the store`)
    } catch (error) {
      log.warn(`Store: ${path} is not a valid view (${problem}): ignored (cannot move it aside: ${(error as NodeJS.ErrnoException).code}); it is rewritten from the store`)
    }
    return undefined
  }
  const out: ViewSession[] = []
  let skipped = 0
  for (const e of (raw as {sessions: unknown[]}).sessions) {
    const v = e as {clientId?: unknown; expiryInterval?: unknown; subscriptions?: unknown}
    const ok =
      v !== null &&
      typeof v === 'object' &&
      typeof v.clientId === 'string' &&
      v.clientId !== '' &&
      Buffer.byteLength(v.clientId) <= 65_535 &&
      mqttString(v.clientId) &&
      typeof v.expiryInterval === 'number' &&
      Number.isInteger(v.expiryInterval) &&
      v.expiryInterval > 0 &&
      v.expiryInterval <= 0xffff_ffff &&
      Array.isArray(v.subscriptions)
    if (!ok) {
      skipped++
      continue
    }
    const subs: ViewSession['subscriptions'] = []
    for (const s of v.subscriptions as unknown[]) {
      const x = s as Record<string, unknown>
      const rh = x?.retainHandling ?? 0
      const sid = x?.subscriptionId
      if (
        x === null ||
        typeof x !== 'object' ||
        typeof x.filter !== 'string' ||
        validateTopicFilter(x.filter) !== undefined ||
        !mqttString(x.filter) ||
        ![0, 1, 2].includes(x.qos as number) ||
        ![0, 1, 2].includes(rh as number) ||
        (sid !== undefined && !(Number.isInteger(sid) && (sid as number) >= 1 && (sid as number) <= MAX_VARIABLE_BYTE_INTEGER))
      ) {
        skipped++
        continue
      }
      const options: SubOptions = {qos: x.qos as 0 | 1 | 2, noLocal: x.noLocal === true, retainAsPublished: x.retainAsPublished === true, retainHandling: rh as 0 | 1 | 2}
      if (sid !== undefined) options.subscriptionId = sid as number
      subs.push({filter: x.filter, options})
    }
    out.push({clientId: v.clientId as string, expiryInterval: v.expiryInterval as number, subscriptions: subs})
  }
  if (skipped > 0) log.warn(`Store: ${path}: skipped ${skipped} invalid entries (client id, expiry, filter, QoS or subscription id out of range)`)
  return out
}

/**
 * A data directory from before the store (or a store removed by hand): the readable view's sessions
 * and subscriptions go into the empty store.
 */
export function importView(view: ViewSession[], store: Pick<Store, 'createSession' | 'addSubscription'>, log: Logger): void {
  for (const s of view) {
    const session = store.createSession(s.clientId, s.expiryInterval)
    for (const sub of s.subscriptions) store.addSubscription(session, sub.filter, sub.options)
  }
  log.info(`Store: imported ${view.length} sessions with their subscriptions from subscriptions.json (the store was empty)`)
}
