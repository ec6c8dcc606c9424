import type {Tier} from '../sizing/tiers.js'

export type TuneOs = 'linux' | 'windows' | 'macos'
export const TUNE_OSES: readonly TuneOs[] = ['linux', 'windows', 'macos']

export interface TuneFile {
  /** Relative path, e.g. "sysctl.d/99-mqtt.conf". */
  path: string
  content: string
  /** File mode for scripts (0o755); default 0o644. */
  mode?: number
  description: string
}

export interface RenderInput {
  os: TuneOs
  tier: Tier
  /** Devices the files are for (per node when nodes > 1); omitted when the tier was chosen directly. */
  devices?: number
  /** Nodes the fleet is spread over (only above one node's capacity). */
  nodes?: number
  /** Default /opt/mqtt-broker. */
  installDir?: string
  /** Service account; default mqtt-broker. */
  user?: string
  /** Node.js flags of the broker (the systemd unit's NODE_OPTIONS); default: the plan's heap settings for the fleet (src/sizing runtimeNodeFlags). */
  nodeFlags?: readonly string[]
}

export type RenderOptions = Required<Pick<RenderInput, 'installDir' | 'user'>> & RenderInput

export const DEFAULT_INSTALL_DIR = '/opt/mqtt-broker'
export const DEFAULT_USER = 'mqtt-broker'
