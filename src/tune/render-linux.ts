/** Linux files for a tier: sysctl.d, limits.d, the systemd unit and apply.sh (templates/linux/). */
import {formatInt} from '../cli/render.js'
import {hashHeader, type HeaderInput} from './header.js'
import {KERNEL_NR_OPEN_DEFAULT, LIMITS_DIFFERENCES, linuxLimits, sysctlDifferences, sysctlEntries, UNIT_DIFFERENCES} from './linux.js'
import {runtimeNodeFlags} from '../sizing/index.js'
import {renderTemplate} from './template.js'
import type {RenderOptions, TuneFile} from './types.js'

export const LINUX_DEST = {
  sysctl: '/etc/sysctl.d/99-mqtt.conf',
  limits: '/etc/security/limits.d/99-mqtt.conf',
  unit: '/etc/systemd/system/mqtt-broker.service',
}

type Base = Omit<HeaderInput, 'purpose' | 'install' | 'guideSection' | 'differences'>

export function sysctlFile(o: RenderOptions, base: Base): string {
  const entries = sysctlEntries(o.tier)
    .map((e) => `# ${e.why}\n${e.optional ? '-' : ''}${e.key} = ${e.value}`)
    .join('\n\n')
  const header = hashHeader({...base, purpose: 'kernel network and file limits for the MQTT broker', install: LINUX_DEST.sysctl, guideSection: '§3.2.2, §4', differences: sysctlDifferences(o.tier)})
  return renderTemplate('linux/sysctl.conf.tpl', {header, entries})
}

export function limitsFile(o: RenderOptions, base: Base): string {
  const {openFiles, maxProcesses} = linuxLimits(o.tier)
  const rows: string[] = []
  for (const domain of ['*', 'root']) {
    for (const type of ['soft', 'hard']) {
      rows.push(`${domain.padEnd(10)}${type.padEnd(8)}nofile   ${openFiles}`, `${domain.padEnd(10)}${type.padEnd(8)}nproc    ${maxProcesses}`)
    }
  }
  const header = hashHeader({...base, purpose: 'open-file and process limits for login sessions', install: LINUX_DEST.limits, guideSection: '§3.2.1', differences: LIMITS_DIFFERENCES})
  const nrOpen = Math.max(KERNEL_NR_OPEN_DEFAULT, Number(sysctlEntries(o.tier).find((e) => e.key === 'fs.nr_open')?.value ?? 0))
  return renderTemplate('linux/limits.conf.tpl', {header, nrOpen: formatInt(nrOpen), entries: rows.join('\n')})
}

export function unitFile(o: RenderOptions, base: Base): string {
  const {openFiles, maxProcesses} = linuxLimits(o.tier)
  const header = hashHeader({...base, purpose: 'systemd service running the MQTT broker', install: LINUX_DEST.unit, guideSection: '§3.2.3', differences: UNIT_DIFFERENCES})
  return renderTemplate('linux/mqtt-broker.service.tpl', {
    header,
    tier: o.tier.name,
    user: o.user,
    installDir: o.installDir,
    openFiles: String(openFiles),
    maxProcesses: String(maxProcesses),
    nodeOptions: (o.nodeFlags ?? runtimeNodeFlags(o.devices ?? o.tier.maxDevices)).join(' '),
  })
}

export function applyScript(o: RenderOptions, base: Base): string {
  const modes = sysctlEntries(o.tier)
    .map((e) => `  [${e.key}]=${e.mode}`)
    .join('\n')
  const header = hashHeader({
    ...base,
    purpose: 'backs up the running values, installs the sysctl, limits and systemd files next to it, applies and verifies; "restore" undoes',
    install: 'run from the directory tune wrote: sudo ./apply.sh',
    guideSection: '§3.2',
    differences: ['the guide appends to system files with no backup and no way back; this script saves every value and file it changes and restores them', 'values the machine already has better are kept (never lowered), and a key the kernel does not know is skipped, not fatal'],
  })
  return renderTemplate('linux/apply.sh.tpl', {header, modes, user: o.user})
}

export function linuxFiles(o: RenderOptions, base: Base): TuneFile[] {
  return [
    {path: 'sysctl.d/99-mqtt.conf', content: sysctlFile(o, base), description: `kernel parameters, install as ${LINUX_DEST.sysctl}`},
    {path: 'limits.d/99-mqtt.conf', content: limitsFile(o, base), description: `PAM limits for * and root, install as ${LINUX_DEST.limits}`},
    {path: 'systemd/mqtt-broker.service', content: unitFile(o, base), description: `systemd unit, install as ${LINUX_DEST.unit}`},
    {path: 'apply.sh', content: applyScript(o, base), mode: 0o755, description: 'backs up, installs, applies and verifies; "./apply.sh restore" undoes'},
  ]
}
