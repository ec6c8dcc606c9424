/**
 * The nats-server of one cluster unit test file (test/broker/cluster/*.unit.test.ts): started before
 * its tests and stopped by pid after them (test/helpers/nats.ts); the connections a test opens
 * through connect() are closed after it, after `beforeClose` (e.g. stopping consumers).
 */
import {connect, type ConnectionOptions, type NatsConnection} from 'nats'
import {afterAll, afterEach, beforeAll} from 'vitest'
import {type NatsServer, startNats} from '../../helpers/nats.js'

export interface UnitNats {
  readonly url: string
  /** Open connections of the running test, oldest first. */
  readonly conns: NatsConnection[]
  connect(options?: ConnectionOptions): Promise<NatsConnection>
}

export function useNats(options: {jetstream?: boolean} = {}, beforeClose?: () => Promise<void>): UnitNats {
  let server: NatsServer | undefined
  const conns: NatsConnection[] = []
  beforeAll(async () => {
    server = await startNats(options)
  }, 30_000)
  afterEach(async () => {
    await beforeClose?.()
    await Promise.all(conns.splice(0).map((c) => c.close()))
  })
  afterAll(async () => {
    await server?.stop()
  })
  return {
    get url() {
      return server!.url
    },
    conns,
    async connect(extra: ConnectionOptions = {}) {
      const c = await connect({servers: server!.url, ...extra})
      conns.push(c)
      return c
    },
  }
}
