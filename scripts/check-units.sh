#!/usr/bin/env bash
# Checks each unit given: it keeps the hardening we promise, `systemd-analyze verify` prints
# nothing, and `systemd-analyze security` rates its exposure at 2.0 or lower. Both analyses
# run offline; no systemd as PID 1 is needed. Called by `make check-units`.
set -euo pipefail

max_exposure=2.0
required=(
  DynamicUser=yes StateDirectory= Restart=on-failure UMask=0077 MemoryMax=
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes
  PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes
  ProtectControlGroups=yes RestrictAddressFamilies= RestrictNamespaces=yes
  LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallFilter=@system-service
  CapabilityBoundingSet= ProtectClock=yes ProtectHostname=yes RestrictRealtime=yes
  RestrictSUIDSGID=yes SystemCallArchitectures=native ProtectProc=invisible
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
failed=0
for unit in "$@"; do
  name=$(basename "$unit")
  for key in "${required[@]}"; do
    # CapabilityBoundingSet= must be empty, not merely present.
    if [[ $key == *= ]] && [[ $key != CapabilityBoundingSet= ]]; then
      grep -q "^$key." "$unit" || { echo "$name: no $key..."; failed=1; }
    else
      grep -qx "$key" "$unit" || { echo "$name: no $key"; failed=1; }
    fi
  done
  # The unit names the installed binary, which a build machine lacks and verify would
  # report; point ExecStart= at a stand-in executable of the same name instead.
  exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
  [[ -n $exe ]] || { echo "$name: no ExecStart="; failed=1; continue; }
  cp "$(type -P true)" "$tmp/bin/$(basename "$exe")"
  sed "s|^ExecStart=$exe|ExecStart=$tmp/bin/$(basename "$exe")|" "$unit" >"$tmp/$name"

  if out=$(systemd-analyze verify "$tmp/$name" 2>&1) && [[ -z $out ]]; then
    echo "$name: systemd-analyze verify is clean"
  else
    echo "$name: systemd-analyze verify complains: $out"
    failed=1
  fi

  level=$(systemd-analyze security --offline=true "$tmp/$name" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [[ -n $level ]] || { echo "$name: no exposure level from systemd-analyze security"; failed=1; continue; }
  if awk "BEGIN{exit !($level <= $max_exposure)}"; then
    echo "$name: exposure $level (at most $max_exposure)"
  else
    echo "$name: exposure $level is above $max_exposure"
    failed=1
  fi
done
exit "$failed"
