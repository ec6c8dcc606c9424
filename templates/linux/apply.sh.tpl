#!/usr/bin/env bash
{{header}}
#
# Usage: sudo ./apply.sh [apply]         back up, install the files next to this script, set the values, verify
#        sudo ./apply.sh verify          compare the running values with the installed sysctl file
#        sudo ./apply.sh restore [DIR]   put back the values and files saved by the last (or the given) backup
#        sudo ./apply.sh backup          only save the running values and the files this script replaces
# Backups go to /var/backups/mqtt-tune/<time>/ (sysctl.values, files/, absent).
# MQTT_TUNE_ROOT=/some/dir works on a copy of / instead (proc/sys/..., etc/...): nothing outside it is touched.
set -euo pipefail

ROOT="${MQTT_TUNE_ROOT:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROC="$ROOT/proc/sys"
BACKUPS="$ROOT/var/backups/mqtt-tune"
SERVICE_USER="{{user}}"
NAMES=(sysctl limits unit)
declare -A SRC=(
  [sysctl]="$HERE/sysctl.d/99-mqtt.conf"
  [limits]="$HERE/limits.d/99-mqtt.conf"
  [unit]="$HERE/systemd/mqtt-broker.service"
)
declare -A DEST=(
  [sysctl]="$ROOT/etc/sysctl.d/99-mqtt.conf"
  [limits]="$ROOT/etc/security/limits.d/99-mqtt.conf"
  [unit]="$ROOT/etc/systemd/system/mqtt-broker.service"
)
# How each key is compared: min = never lower a higher running value; max = never raise a lower one;
# range = the running range must cover it; set = exactly this value.
declare -A MODE=(
{{modes}}
)
KEY_RE='^[[:space:]]*(-?)([a-z0-9_][a-z0-9_.-]*)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$'

die() { echo "apply.sh: $*" >&2; exit 1; }
need_root() { [[ -n $ROOT || $(id -u) -eq 0 ]] || die "must run as root (sudo $0 ${1:-}); nothing was changed"; }
proc_path() { echo "$PROC/${1//.//}"; }
read_key() { tr -s '[:blank:]' ' ' < "$(proc_path "$1")"; }

# merge MODE RUNNING RECOMMENDED: the value to set.
merge() {
  local mode=$1 i
  local -a cur rec out=()
  read -r -a cur <<< "$2"
  read -r -a rec <<< "$3"
  if [[ $mode == set || ${#cur[@]} -ne ${#rec[@]} ]]; then echo "$3"; return; fi
  if [[ $mode == range ]]; then
    echo "$(( cur[0] < rec[0] ? cur[0] : rec[0] )) $(( cur[1] > rec[1] ? cur[1] : rec[1] ))"
    return
  fi
  for i in "${!rec[@]}"; do
    if [[ $mode == min ]]; then out+=("$(( cur[i] > rec[i] ? cur[i] : rec[i] ))")
    else out+=("$(( cur[i] < rec[i] ? cur[i] : rec[i] ))"); fi
  done
  echo "${out[*]}"
}

backup() {
  local dir key name
  dir="$BACKUPS/$(date +%Y%m%dT%H%M%S)-$$"
  mkdir -p "$dir/files"
  : > "$dir/sysctl.values"
  : > "$dir/absent"
  for key in "${!MODE[@]}"; do
    if [[ -e "$(proc_path "$key")" ]]; then echo "$key=$(read_key "$key")" >> "$dir/sysctl.values"; fi
  done
  for name in "${NAMES[@]}"; do
    if [[ -e "${DEST[$name]}" ]]; then cp -p "${DEST[$name]}" "$dir/files/$name"; else echo "$name" >> "$dir/absent"; fi
  done
  echo "$dir" > "$BACKUPS/latest"
  echo "$dir"
}

apply_sysctl() {
  local line opt key value path cur want out="" failed=0
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ ! $line =~ $KEY_RE ]]; then out+="$line"$'\n'; continue; fi
    opt="${BASH_REMATCH[1]}" key="${BASH_REMATCH[2]}" value="${BASH_REMATCH[3]}"
    path="$(proc_path "$key")"
    if [[ ! -e $path ]]; then
      if [[ -n $opt ]]; then
        echo "skip  $key (not present on this kernel; optional)"
        out+="$line"$'\n'
      else
        echo "skip  $key (unknown to kernel $(uname -r); commented out)"
        out+="# $line    # unknown to kernel $(uname -r)"$'\n'
      fi
      continue
    fi
    cur="$(read_key "$key")"
    want="$(merge "${MODE[$key]:-set}" "$cur" "$value")"
    if [[ $want == "$cur" ]]; then
      echo "keep  $key = $cur"
    elif printf '%s\n' "$want" 2>/dev/null > "$path"; then
      echo "set   $key = $want (was $cur)"
    else
      echo "FAIL  $key = $want: the kernel refused it" >&2
      failed=1
    fi
    if [[ $want != "$value" ]]; then out+="# recommended $value; this machine already had a better value"$'\n'; fi
    out+="$opt$key = $want"$'\n'
  done < "${SRC[sysctl]}"
  mkdir -p "$(dirname "${DEST[sysctl]}")"
  printf '%s' "$out" > "${DEST[sysctl]}"
  chmod 0644 "${DEST[sysctl]}"
  return $failed
}

install_file() {
  mkdir -p "$(dirname "${DEST[$1]}")"
  cp "${SRC[$1]}" "${DEST[$1]}"
  chmod 0644 "${DEST[$1]}"
  echo "wrote ${DEST[$1]}"
}

reload_systemd() {
  if [[ -z $ROOT && -d /run/systemd/system ]] && command -v systemctl > /dev/null; then systemctl daemon-reload; fi
}

ensure_user() {
  if [[ -n $ROOT || $SERVICE_USER == root ]] || id -u "$SERVICE_USER" > /dev/null 2>&1; then return; fi
  useradd --system --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  echo "created system user $SERVICE_USER"
}

verify() {
  local line opt key value path cur bad=0
  [[ -e ${DEST[sysctl]} ]] || die "${DEST[sysctl]} is not installed; run $0 apply first"
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ $KEY_RE ]] || continue
    opt="${BASH_REMATCH[1]}" key="${BASH_REMATCH[2]}" value="${BASH_REMATCH[3]}"
    path="$(proc_path "$key")"
    if [[ ! -e $path ]]; then
      if [[ -z $opt ]]; then echo "MISSING  $key"; bad=1; fi
      continue
    fi
    cur="$(read_key "$key")"
    if [[ $cur == "$value" ]]; then echo "ok       $key = $cur"; else echo "DIFFERS  $key: running $cur, file $value"; bad=1; fi
  done < "${DEST[sysctl]}"
  if (( bad )); then echo "verify: some values differ from ${DEST[sysctl]}" >&2; return 1; fi
  echo "verify: every value in ${DEST[sysctl]} is in effect (limits apply at the next login / service start)"
}

restore() {
  local dir=${1:-} key value name
  if [[ -z $dir ]]; then
    [[ -e "$BACKUPS/latest" ]] || die "no backup under $BACKUPS"
    dir="$(< "$BACKUPS/latest")"
  fi
  [[ -e "$dir/sysctl.values" ]] || die "$dir is not a backup made by apply.sh"
  while IFS='=' read -r key value; do
    if printf '%s\n' "$value" 2>/dev/null > "$(proc_path "$key")"; then echo "restored $key = $value"; else echo "FAIL  $key = $value" >&2; fi
  done < "$dir/sysctl.values"
  for name in "${NAMES[@]}"; do
    if [[ -e "$dir/files/$name" ]]; then
      cp -p "$dir/files/$name" "${DEST[$name]}"
      echo "restored ${DEST[$name]}"
    elif grep -qx "$name" "$dir/absent"; then
      rm -f "${DEST[$name]}"
      echo "removed ${DEST[$name]}"
    fi
  done
  reload_systemd
  echo "restored from $dir"
}

case "${1:-apply}" in
  apply)
    need_root apply
    saved="$(backup)"
    echo "backup: $saved (undo with: $0 restore)"
    status=0
    apply_sysctl || status=1
    install_file limits
    install_file unit
    ensure_user
    reload_systemd
    verify || status=1
    exit $status
    ;;
  verify) verify ;;
  restore) need_root restore; restore "${2:-}" ;;
  backup) need_root backup; backup ;;
  *) echo "usage: $0 [apply|verify|restore [BACKUP_DIR]|backup]" >&2; exit 2 ;;
esac
