/**
 * A real browser: Debian's Chromium (/usr/bin/chromium, headless, driven by puppeteer-core; no
 * browser is downloaded) loads a page using MQTT.js's browser bundle (node_modules/mqtt/dist),
 * logs in over ws:// and wss:// (the test server key pinned in Chromium) with a password, subscribes, publishes, and receives through our broker; a
 * Node client on TCP sees the browser's message and the browser sees the Node client's.
 * A missing Chromium fails with the install hint (CI: apt-get install chromium), never a skip.
 */
import {createHash, X509Certificate} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import puppeteer, {type Browser} from 'puppeteer-core'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect} from '../../helpers/mqtt.js'
import {makeCerts, type TestCerts} from '../tls/certs.js'
import {type AuthBroker, mosquittoPasswd, startAuthBroker, tempDir} from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const BUNDLE = fileURLToPath(new URL('../../../node_modules/mqtt/dist/mqtt.min.js', import.meta.url))
const tmp = tempDir()
let b: AuthBroker
let browser: Browser | undefined
let page: Server
let certs: TestCerts

const HTML = `<!doctype html><meta charset="utf-8"><title>mqttctl browser test</title>
<script src="/mqtt.min.js"></script>
<script>
window.run = (url) => new Promise((resolve, reject) => {
  const client = mqtt.connect(url, {username: 'browser', password: 'browser-pw', clientId: 'chromium-1', protocolVersion: 5, reconnectPeriod: 0})
  const got = []
  client.on('error', (e) => reject(String(e)))
  client.on('message', (topic, payload) => {
    got.push(topic + '=' + new TextDecoder().decode(payload))
    if (got.some((g) => g === 'to-browser/1=hello browser')) { client.end(); resolve(got) }
  })
  client.on('connect', () => {
    client.subscribe('to-browser/#', {qos: 1}, (err, granted) => {
      if (err || granted[0].qos !== 1) return reject('subscribe refused: ' + JSON.stringify(granted))
      client.publish('from-browser/1', 'hello from chromium', {qos: 1}, (e) => { if (e) reject(String(e)) })
    })
  })
})
</script>`

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed: the browser test needs Debian's chromium (apt-get install chromium); required, not optional`)
  const pw = join(tmp.dir, 'passwd')
  const acl = join(tmp.dir, 'acl')
  await mosquittoPasswd(['-c', '-b', pw, 'browser', 'browser-pw'])
  await mosquittoPasswd(['-b', pw, 'node', 'node-pw'])
  writeFileSync(acl, 'user browser\ntopic read to-browser/#\ntopic write from-browser/#\nuser node\ntopic readwrite #\n')
  certs = await makeCerts()
  b = await startAuthBroker(
    {passwordFile: pw, aclFile: acl},
    {listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: 0, websocket: true}, {host: '127.0.0.1', port: 0, websocket: true, tls: {cert: certs.serverCert, key: certs.serverKey}}]},
  )
  // Chromium trusts exactly our test server key for wss:// (its public key pinned), nothing else.
  const spki = new X509Certificate(readFileSync(certs.serverCert)).publicKey.export({type: 'spki', format: 'der'})
  const pin = createHash('sha256').update(spki).digest('base64')
  const bundle = readFileSync(BUNDLE)
  page = createServer((req, res) => {
    if (req.url === '/mqtt.min.js') res.writeHead(200, {'Content-Type': 'text/javascript'}).end(bundle)
    else res.writeHead(200, {'Content-Type': 'text/html'}).end(HTML)
  })
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r))
  browser = await puppeteer.launch({executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage', `--ignore-certificate-errors-spki-list=${pin}`], timeout: 60_000})
}, 90_000)
afterEach(closeAll)
afterAll(async () => {
  await browser?.close()
  await new Promise((r) => page?.close(r))
  await b?.close()
  certs?.cleanup()
  tmp.cleanup()
})

describe.each([
  ['ws', 1],
  ['wss', 2],
] as const)('a browser page with MQTT.js over %s://', (scheme, listener) => {
  it('publishes and receives through our broker', async () => {
    const node = await connect(`mqtt://127.0.0.1:${b.ports[0]}`, {protocolVersion: 5, username: 'node', password: 'node-pw'})
    const inbox = collect(node)
    await node.subscribeAsync('from-browser/#', {qos: 1})
    const tab = await browser!.newPage()
    await tab.goto(`http://127.0.0.1:${(page.address() as {port: number}).port}/`)
    const host = scheme === 'wss' ? 'localhost' : '127.0.0.1'
    const result = tab.evaluate((url: string) => (globalThis as unknown as {run(u: string): Promise<string[]>}).run(url), `${scheme}://${host}:${b.ports[listener]}/mqtt`)
    await inbox.waitPayload('hello from chromium', 30_000)
    await node.publishAsync('to-browser/1', 'hello browser', {qos: 1})
    expect(await result).toContain('to-browser/1=hello browser')
    await tab.close()
  }, 60_000)
})
