/** macOS files for a tier: a LaunchDaemon raising maxfiles at boot, and the script to load and verify it. */
import {hashHeader, type HeaderInput, xmlHeader} from './header.js'
import {renderTemplate} from './template.js'
import type {RenderOptions, TuneFile} from './types.js'

type Base = Omit<HeaderInput, 'purpose' | 'install' | 'guideSection' | 'differences'>

export const MACOS_LABEL = 'com.mqttctl.maxfiles'

export const MACOS_DIFFERENCES = [
  'a LaunchDaemon plist instead of /etc/launchd.conf, which macOS ignores since 10.10 (Yosemite)',
  'maxfiles follows the tier instead of the guide\'s fixed 262,144, and kern.maxfiles / kern.maxfilesperproc are raised with it (they cap ulimit -n)',
  'loaded with "launchctl bootstrap system" (load -w is deprecated)',
]

export function macosLimits(o: RenderOptions): {maxfiles: number; kernMaxfiles: number} {
  return {maxfiles: o.tier.os.openFiles, kernMaxfiles: 2 * o.tier.os.openFiles}
}

export function macosFiles(o: RenderOptions, base: Base): TuneFile[] {
  const {maxfiles, kernMaxfiles} = macosLimits(o)
  const differences = [...MACOS_DIFFERENCES]
  if (o.tier.name === 'large') differences.push('macOS is a development platform here: the large tier belongs on Linux (epoll, 10 GbE, 1M sockets)')
  const plist = renderTemplate('macos/maxfiles.plist.tpl', {
    header: xmlHeader({...base, purpose: 'raises the open-file limit (maxfiles) at every boot', install: `/Library/LaunchDaemons/${MACOS_LABEL}.plist (root:wheel, 0644), with ./install-macos.sh`, guideSection: '§3.3', differences}),
    label: MACOS_LABEL,
    maxfiles: String(maxfiles),
    kernMaxfiles: String(kernMaxfiles),
  })
  const script = renderTemplate('macos/install.sh.tpl', {
    header: hashHeader({...base, purpose: 'installs, loads and verifies the maxfiles LaunchDaemon', install: 'sudo ./install-macos.sh', guideSection: '§3.3', differences}),
    label: MACOS_LABEL,
    maxfiles: String(maxfiles),
  })
  return [
    {path: `${MACOS_LABEL}.plist`, content: plist, description: `LaunchDaemon, install as /Library/LaunchDaemons/${MACOS_LABEL}.plist`},
    {path: 'install-macos.sh', content: script, mode: 0o755, description: 'copies and loads the plist, then verifies; "uninstall" undoes'},
  ]
}
