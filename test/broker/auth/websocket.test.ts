/**
 * MQTT over WebSocket: MQTT.js over ws:// and wss:// in Node (3.1.1 and 5.0) with the same password
 * and ACL as TCP, messages crossing between TCP and WebSocket clients; the HTTP edges: wrong path
 * (404), plain request (426), a subprotocol other than mqtt (400), a text frame (closed).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {WebSocket} from 'ws'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect} from '../../helpers/mqtt.js'
import {makeCerts, type TestCerts} from '../tls/certs.js'
import {type AuthBroker, connackCode, grantedQos, mosquittoPasswd, startAuthBroker, tempDir} from './helpers.js'

const tmp = tempDir()
const pwFile = join(tmp.dir, 'passwd')
const aclFile = join(tmp.dir, 'acl')
let certs: TestCerts
let b: AuthBroker
let tcp: string
let ws: string
let wss: string

beforeAll(async () => {
  certs = await makeCerts()
  await mosquittoPasswd(['-c', '-b', pwFile, 'web', 'web-pw'])
  await mosquittoPasswd(['-b', pwFile, 'dev', 'dev-pw'])
  writeFileSync(aclFile, 'user web\ntopic readwrite web/#\ntopic read dev/+/state\nuser dev\ntopic readwrite dev/#\ntopic read web/#\n')
  b = await startAuthBroker(
    {passwordFile: pwFile, aclFile},
    {
      listeners: [
        {host: '127.0.0.1', port: 0},
        {host: '127.0.0.1', port: 0, websocket: true},
        {host: '127.0.0.1', port: 0, websocket: true, path: '/secure', tls: {cert: certs.serverCert, key: certs.serverKey}},
      ],
    },
  )
  tcp = `mqtt://127.0.0.1:${b.ports[0]}`
  ws = `ws://127.0.0.1:${b.ports[1]}/mqtt`
  wss = `wss://localhost:${b.ports[2]}/secure`
}, 60_000)
afterEach(closeAll)
afterAll(async () => {
  await b?.close()
  certs?.cleanup()
  tmp.cleanup()
})

describe.each([4, 5] as const)('MQTT.js over WebSocket, protocol version %i', (version) => {
  it('ws:// and wss:// clients log in and exchange messages with TCP clients under the ACL', async () => {
    const web = await connect(ws, {protocolVersion: version, username: 'web', password: 'web-pw'})
    const secure = await connect(wss, {protocolVersion: version, username: 'web', password: 'web-pw', ca: readFileSync(certs.ca)})
    const dev = await connect(tcp, {protocolVersion: version, username: 'dev', password: 'dev-pw'})
    const webIn = collect(web)
    const secureIn = collect(secure)
    const devIn = collect(dev)
    expect((await web.subscribeAsync('dev/+/state', {qos: 1}))[0].qos).toBe(1)
    expect((await secure.subscribeAsync('dev/+/state', {qos: 1}))[0].qos).toBe(1)
    expect(await grantedQos(web, 'dev/#')).toBe(version === 5 ? 0x87 : 0x80)
    await dev.subscribeAsync('web/#', {qos: 1})
    await dev.publishAsync('dev/7/state', `on ${version}`, {qos: 1})
    await webIn.waitPayload(`on ${version}`)
    await secureIn.waitPayload(`on ${version}`)
    const big = Buffer.alloc(200_000, 7) // spans many WebSocket frames and TCP segments
    await web.publishAsync('web/cmd', big, {qos: 1})
    await secure.publishAsync('web/cmd', 'from wss', {qos: 1})
    await devIn.waitPayload('from wss')
    expect(devIn.messages.some((m) => m.payload.equals(big))).toBe(true)
  })

  it('refuses a wrong password and anonymous clients over WebSocket with the version\'s code', async () => {
    expect(await connackCode(ws, {protocolVersion: version, username: 'web', password: 'nope'})).toBe(version === 5 ? 0x86 : 4)
    expect(await connackCode(wss, {protocolVersion: version, ca: readFileSync(certs.ca)})).toBe(version === 5 ? 0x87 : 5)
  })
})

function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path, headers}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 101)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('WebSocket listener edges', () => {
  const upgrade = {Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}

  it('answers 426 to plain HTTP, 404 off the path, 400 without the mqtt subprotocol, 101 with it', async () => {
    expect(await httpGet(b.ports[1], '/mqtt')).toBe(426)
    expect(await httpGet(b.ports[1], '/other', upgrade)).toBe(404)
    expect(await httpGet(b.ports[1], '/mqtt', {...upgrade, 'Sec-WebSocket-Protocol': 'chat'})).toBe(400)
    expect(await httpGet(b.ports[1], '/mqtt', {...upgrade, 'Sec-WebSocket-Protocol': 'mqtt'})).toBe(101)
    expect(await httpGet(b.ports[1], '/mqtt?x=1', {...upgrade, 'Sec-WebSocket-Protocol': 'chat, mqtt'})).toBe(101)
  })

  it('selects subprotocol mqtt and closes the connection on a text frame', async () => {
    const sock = new WebSocket(ws, ['mqtt'])
    await new Promise((resolve, reject) => {
      sock.once('open', resolve)
      sock.once('error', reject)
    })
    expect(sock.protocol).toBe('mqtt')
    const closed = new Promise((resolve) => sock.once('close', resolve))
    sock.send('CONNECT as text')
    await closed
  })
})
