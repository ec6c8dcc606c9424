/** A raw MQTT socket for tests: write packet objects or bytes, read parsed packets. */
import {type Socket, connect} from 'node:net'
import mqttPacket, {type Packet} from 'mqtt-packet'

export class RawClient {
  readonly packets: Packet[] = []
  closed = false
  readonly #waiters: Array<() => void> = []
  readonly #parser: ReturnType<typeof mqttPacket.parser>

  private constructor(
    readonly socket: Socket,
    readonly version: number,
  ) {
    this.#parser = mqttPacket.parser({protocolVersion: version})
    this.#parser.on('packet', (p: Packet) => {
      this.packets.push(p)
      this.#wake()
    })
    socket.on('data', (d) => this.#parser.parse(d))
    socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  static open(port: number, version = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket, version)))
      socket.once('error', reject)
    })
  }

  send(packet: Packet | Buffer): void {
    this.socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet, {protocolVersion: this.version}))
  }

  async connect(clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): Promise<Packet> {
    this.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.version as 4, clientId, clean: true, keepalive: 0, ...extra})
    return this.next('connack')
  }

  /** Waits for the next packet of `cmd` (or any). */
  async next(cmd?: string): Promise<Packet> {
    for (;;) {
      const i = this.packets.findIndex((p) => cmd === undefined || p.cmd === cmd)
      if (i >= 0) return this.packets.splice(i, 1)[0]
      if (this.closed) throw new Error(`closed while waiting for ${cmd}`)
      await new Promise<void>((r) => this.#waiters.push(r))
    }
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.#waiters.push(r))
  }

  close(): void {
    this.socket.destroy()
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }
}
