/**
 * The broker's public entry: createBroker, the Broker type and the seams (Store, Clock, Authorizer,
 * Router) (STYLE.md §3.16).
 */
import type {BrokerConfig} from '../config/index.js'
import type {BrokerOptions, Broker} from './api.js'
import {BrokerImpl} from './broker.js'

export type {Store, SessionRecord, StoredMessage, StoredSubscription} from './persistence/store.js'
export {MemoryStore} from './persistence/memory.js'
export type {Clock, TimerHandle} from './clock.js'
export {systemClock} from './clock.js'
export type {Authorizer, AuthOutcome, ConnectCredentials, Identity} from './auth/authorizer.js'
export {AllowAll} from './auth/authorizer.js'
export type {ReloadReport} from './auth/file-authorizer.js'
export type {Router, RouteSource} from './router.js'

export type {Broker, BrokerOptions, ListeningAddress} from './api.js'

export function createBroker(config: BrokerConfig, options: BrokerOptions = {}): Broker {
  return new BrokerImpl(config, options)
}
