/**
 * The authorizer seam: who may connect (authenticate), publish, subscribe, read a delivery, and take
 * over another connection's client id. The broker consults it at CONNECT, PUBLISH, SUBSCRIBE, delivery
 * and take-over; implementations (password file, ACL file) live beside this file. AllowAll is the
 * default: it lets everything through and sets checksAccess = false, so the hot path makes no call.
 */

export interface ConnectCredentials {
  clientId: string
  username?: string
  password?: Buffer
  /** "address:port" of the peer. */
  remoteAddress: string
  /** 3, 4 or 5. */
  protocolVersion: number
  tls: boolean
}

export interface Identity {
  readonly clientId: string
  readonly username?: string
}

/**
 * reasonCode is the MQTT 5 CONNACK code (0x86 bad user name or password, 0x87 not authorized,
 * 0x8A banned, ...); the connect handler maps it to the 3.1.1 return code.
 */
export type AuthOutcome = {ok: true; identity: Identity} | {ok: false; reasonCode: number}

export interface Authorizer {
  /**
   * May be async (a slow hash): the connection reads nothing more until it resolves, and a result
   * that arrives after the socket closed is dropped. A rejected promise refuses the CONNECT (0x80).
   */
  authenticate(credentials: ConnectCredentials): AuthOutcome | Promise<AuthOutcome>
  /**
   * false = no access control: the broker skips every check below on the hot path. Fixed for the
   * authorizer's life (the broker may read it once); a reload changes the rules, not this flag.
   */
  readonly checksAccess: boolean
  /** PUBLISH to `topic` (false: MQTT 5 PUBACK/PUBREC 0x87; 3.1.1 acknowledged and dropped; counted). */
  canPublish(identity: Identity, topic: string): boolean
  /** true only when every topic the filter can match is readable (else SUBACK 0x87, 3.1.1 0x80). */
  canSubscribe(identity: Identity, filter: string): boolean
  /** Delivery of a message on `topic`; consulted per delivery, only when checksAccess. */
  canRead(identity: Identity, topic: string): boolean
  /** May `next` take over the session and connection held by `current` (same client id)? Else CONNACK 0x87 for `next`. */
  canTakeOver(next: Identity, current: Identity): boolean
}

/** No authentication, no access control (the default). */
export class AllowAll implements Authorizer {
  readonly checksAccess = false

  authenticate(c: ConnectCredentials): AuthOutcome {
    return {ok: true, identity: c.username === undefined ? {clientId: c.clientId} : {clientId: c.clientId, username: c.username}}
  }

  canPublish(): boolean {
    return true
  }

  canSubscribe(): boolean {
    return true
  }

  canRead(): boolean {
    return true
  }

  canTakeOver(): boolean {
    return true
  }
}
