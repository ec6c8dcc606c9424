/** Shared by the durable store's tests: temp dirs, stores opened and closed around each test, message builders. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach} from 'vitest'
import type {Delivery, Message} from '../../../src/broker/message.js'
import {DurableStore, type DurableStoreOptions} from '../../../src/broker/persistence/durable.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'

const dirs: string[] = []
const open: DurableStore[] = []

/** A temp directory removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-store-'))
  dirs.push(d)
  return d
}

/** An opened store closed after the test. */
export async function openStore(o: Partial<DurableStoreOptions> & {dir: string}): Promise<DurableStore> {
  const s = new DurableStore(o)
  open.push(s)
  await s.open()
  return s
}

/** Registers the clean-up (call once per test file, at the top level). */
export function cleanupStores(): void {
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
    for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
  })
}

export const opts = (qos: 0 | 1 | 2): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0})
export const msg = (topic: string, payload: string | Buffer): Message => ({topic, payload: Buffer.from(payload), qos: 1, retain: false, expiresAt: 0})
export const delivery = (m: Message, qos: 0 | 1 | 2 = 1): Delivery => ({msg: m, qos, retain: false, packetId: 0, released: false, sent: false})

export function queueOf(store: DurableStore, id: string): string[] {
  return (store.getSession(id)?.queue ?? []).map((d) => d.msg.payload.toString())
}
