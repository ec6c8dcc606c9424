#!/usr/bin/env bash
{{header}}
#
# Usage: sudo ./install-macos.sh [install]   copy the plist to /Library/LaunchDaemons, load it, verify
#        ./install-macos.sh verify           show the limits in effect (a new shell shows the new ulimit -n)
#        sudo ./install-macos.sh uninstall   unload and remove the plist (limits return to defaults at reboot)
set -euo pipefail

LABEL="{{label}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PLIST="/Library/LaunchDaemons/$LABEL.plist"
WANT={{maxfiles}}

verify() {
  launchctl limit maxfiles
  sysctl kern.maxfiles kern.maxfilesperproc
  local soft
  soft="$(launchctl limit maxfiles | awk '{print $2}')"
  if [[ $soft == unlimited || $soft -ge $WANT ]]; then echo "ok: maxfiles $soft >= $WANT"; else echo "too low: maxfiles $soft < $WANT" >&2; return 1; fi
}

case "${1:-install}" in
  install)
    [[ $(id -u) -eq 0 ]] || { echo "run with sudo; nothing was changed" >&2; exit 1; }
    plutil -lint "$HERE/$LABEL.plist"
    install -m 0644 -o root -g wheel "$HERE/$LABEL.plist" "$PLIST"
    launchctl bootout system "$PLIST" 2> /dev/null || true
    launchctl bootstrap system "$PLIST"
    verify
    ;;
  verify) verify ;;
  uninstall)
    [[ $(id -u) -eq 0 ]] || { echo "run with sudo; nothing was changed" >&2; exit 1; }
    launchctl bootout system "$PLIST" 2> /dev/null || true
    rm -f "$PLIST"
    echo "removed $PLIST"
    ;;
  *) echo "usage: $0 [install|verify|uninstall]" >&2; exit 2 ;;
esac
