/**
 * OS tuning: render the files `tune` writes (and `build` ships), and read a running Linux system
 * against them. renderTuneFiles is pure apart from reading templates/.
 */
import type {Tier} from '../sizing/tiers.js'
import {linuxFiles} from './render-linux.js'
import {macosFiles} from './render-macos.js'
import {windowsFiles} from './render-windows.js'
import {DEFAULT_INSTALL_DIR, DEFAULT_USER, type RenderOptions, type TuneFile, type TuneOs} from './types.js'

export {DEFAULT_INSTALL_DIR, DEFAULT_USER, TUNE_OSES, type TuneFile, type TuneOs} from './types.js'
export {packageRoot, templatesDir} from './paths.js'

export function renderTuneFiles(options: {os: TuneOs; tier: Tier; devices?: number; nodes?: number; installDir?: string; user?: string; nodeFlags?: readonly string[]}): TuneFile[] {
  const o: RenderOptions = {...options, installDir: (options.installDir ?? DEFAULT_INSTALL_DIR).replace(/\/+$/, '') || '/', user: options.user ?? DEFAULT_USER}
  if (!/^\/[^\s"'\\]*$/.test(o.installDir)) throw new Error(`installDir "${o.installDir}" is not allowed: expected an absolute path without spaces or quotes`)
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw new Error(`user "${o.user}" is not allowed: expected a Linux user name (lower case letters, digits, _ and -)`)
  const base = {tier: o.tier, devices: o.devices, nodes: o.nodes}
  switch (o.os) {
    case 'linux':
      return linuxFiles(o, base)
    case 'windows':
      return windowsFiles(o, base)
    case 'macos':
      return macosFiles(o, base)
  }
}
