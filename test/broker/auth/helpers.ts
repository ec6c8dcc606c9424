/** Shared by the auth end-to-end tests: a broker with a FileAuthorizer, refusal codes, mosquitto clients. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import {FileAuthorizer, type FileAuthorizerOptions} from '../../../src/broker/auth/file-authorizer.js'
import {type Broker, createBroker} from '../../../src/broker/index.js'
import {type Logger, silentLogger} from '../../../src/broker/log.js'
import {type BrokerConfig, DEFAULT_CONFIG, type ListenerConfig} from '../../../src/config/index.js'

export function tempDir(prefix = 'mqttctl-auth-'): {dir: string; cleanup(): void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export async function mosquittoPasswd(args: string[]): Promise<void> {
  const r = await execa('mosquitto_passwd', args, {reject: false})
  if (r.exitCode !== 0) throw new Error(`mosquitto_passwd ${args.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}; apt-get install mosquitto (required)`)
}

export interface AuthBroker {
  broker: Broker
  authorizer: FileAuthorizer
  ports: number[]
  url: string
  close(): Promise<void>
}

/**
 * A broker on 127.0.0.1 with a FileAuthorizer (no failed-login slowing unless asked, so a test may
 * fail logins in a row). `listeners` default: one TCP listener.
 */
export async function startAuthBroker(auth: FileAuthorizerOptions, options: {listeners?: ListenerConfig[]; logger?: Logger; config?: Partial<BrokerConfig>} = {}): Promise<AuthBroker> {
  const logger = options.logger ?? silentLogger
  const authorizer = new FileAuthorizer({slowdown: {baseMs: 0}, logger, ...auth})
  const config: BrokerConfig = {...DEFAULT_CONFIG, ...options.config, listeners: options.listeners ?? [{host: '127.0.0.1', port: 0}], auth: {...DEFAULT_CONFIG.auth, passwordFile: auth.passwordFile, aclFile: auth.aclFile, allowAnonymous: auth.allowAnonymous}}
  const broker = createBroker(config, {logger, authorizer})
  const addrs = await broker.listen()
  return {broker, authorizer, ports: addrs.map((a) => a.port), url: `mqtt://127.0.0.1:${addrs[0].port}`, close: () => broker.close()}
}

/** Connects and returns the CONNACK code the broker answered (0 = accepted; the client is closed either way). */
export function connackCode(url: string, options: IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {reconnectPeriod: 0, connectTimeout: 5000, ...options})
    const done = (code: number) => {
      client.end(true)
      resolve(code)
    }
    client.once('connect', (connack) => done(connack.returnCode ?? connack.reasonCode ?? 0))
    client.once('error', (error: Error & {code?: number}) => {
      if (typeof error.code === 'number') done(error.code)
      else {
        client.end(true)
        reject(error)
      }
    })
  })
}

/** SUBACK code of one filter (MQTT.js rejects subscribeAsync on a refusal; the packet is on the error). */
export async function grantedQos(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, {qos}))[0].qos
  } catch (error) {
    const packet = (error as {packet?: {granted?: Array<number | {qos: number}>}}).packet
    if (packet?.granted?.length === 1) return typeof packet.granted[0] === 'number' ? packet.granted[0] : packet.granted[0].qos
    throw error
  }
}
