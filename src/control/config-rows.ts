/** `start --print-config`: the loaded configuration as rows of key, value and where it came from. */
import {FIELDS, type ListenerConfig, type LoadedConfig} from '../config/index.js'
import {getPath} from '../config/schema.js'
import {listenerText} from '../net.js'
import {LISTENER_ENV} from './options.js'

/** `start --print-config` rows: key, value (JSON), source; and the same as an object for --json. */
export function configRows(loaded: LoadedConfig): string[][] {
  return FIELDS.map((f) => {
    const value = f.key === 'listeners' ? loaded.config.listeners.map(listenerDetail).join(', ') : (JSON.stringify(getPath(loaded.config, f.key)) ?? '(unset)')
    const source = loaded.sources[f.key] === 'file' ? `file ${loaded.file}` : loaded.sources[f.key] === 'env' ? `env ${envName(f.key)}` : loaded.sources[f.key]
    return [f.key, value, source]
  })
}

/** listenerText plus the TLS files: "0.0.0.0:8883 (tls: cert /etc/mqtt/cert.pem, key /etc/mqtt/key.pem, client ca /etc/mqtt/ca.pem)". */
function listenerDetail(l: ListenerConfig): string {
  if (l.websocket) return `${listenerText({...l, tls: undefined})} (${l.tls ? 'wss' : 'ws'} ${l.path ?? '/mqtt'}${l.tls ? `: cert ${l.tls.cert}, key ${l.tls.key}` : ''})`
  if (!l.tls) return listenerText(l)
  const files = [`cert ${l.tls.cert}`, `key ${l.tls.key}`, ...(l.tls.ca ? [`client ca ${l.tls.ca}`] : [])]
  return `${listenerText({...l, tls: undefined})} (tls: ${files.join(', ')})`
}

function envName(key: string): string {
  if (key === 'listeners') return `${LISTENER_ENV.port}/${LISTENER_ENV.host}`
  return FIELDS.find((f) => f.key === key)?.env ?? ''
}
