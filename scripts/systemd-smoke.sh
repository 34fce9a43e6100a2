#!/usr/bin/env bash
# Boots a Debian container under systemd-nspawn and runs the release binaries (x86_64) with
# their hardened units: each service starts, the agent's /metrics under the sandbox has the
# same metric families as the agent run as plain root beside it, the documented token
# rotation works, and the server creates its database and answers /login. Needs root,
# debootstrap and systemd-container; the root file system is made once under target/ (or
# CARGO_TARGET_DIR).
# Called by `make check-units-live` (after `make release`) with BINS.
set -euo pipefail
# Where cargo builds: CARGO_TARGET_DIR (relative to where this was called from) or target/.
target_dir=$(realpath -m -- "${CARGO_TARGET_DIR:-$(dirname "$0")/../target}")
cd "$(dirname "$0")/.."

: "${BINS:?}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
archive=dist/lanstat-$version-x86_64-unknown-linux-musl.tar.gz
[[ -f $archive ]] || { echo "systemd-smoke: $archive is missing (run make release)" >&2; exit 1; }
rootfs=$target_dir/systemd-smoke/rootfs

if [[ ! -f $rootfs/.ready ]]; then
  rm -rf "$rootfs"
  mkdir -p "$(dirname "$rootfs")"
  echo "systemd-smoke: debootstrap bookworm into $rootfs (once)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl \
    bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; exit 1; }
  echo lanstat-smoke >"$rootfs/etc/hostname"
  cat >"$rootfs/etc/systemd/system/lanstat-smoke.service" <<'UNIT'
[Unit]
Description=lanstat smoke test, then power off
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /stage/check.sh
ExecStopPost=/bin/systemctl poweroff --no-block
UNIT
  ln -sf /etc/systemd/system/lanstat-smoke.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/lanstat-smoke.service"
  touch "$rootfs/.ready"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
stage=$work/lanstat-$version-x86_64-unknown-linux-musl
mkdir "$work/out"
cat >"$stage/check.sh" <<EOF_CHECK
BINS="$BINS"
$(cat <<'CHECK'
set -uo pipefail
exec >/out/log 2>&1
fail() { echo "FAIL: $*"; echo fail >/out/result; exit 1; }
wait_http() { # url, expected code
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$1") == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}
families() { grep -v '^#' | sed 's/[{ ].*//' | sort -u; }
for b in $BINS; do
  install -m 0755 "/stage/$b" "/usr/local/bin/$b"
  install -m 0644 "/stage/systemd/$b.service" "/etc/systemd/system/$b.service"
done
systemctl daemon-reload
for b in $BINS; do
  systemctl start "$b" || { journalctl -u "$b" --no-pager; fail "$b did not start"; }
done
for b in $BINS; do
  case $b in
  lanstat-agent)
    wait_http http://127.0.0.1:8000/healthz 200 || { journalctl -u "$b" --no-pager; fail "agent not up"; }
    token=$(lanstat-agent token --token-file /var/lib/lanstat-agent/token) || fail "no token"
    auth="Authorization: Bearer $token"
    sleep 6 # a second sample, so rates exist
    curl -sf -H "$auth" http://127.0.0.1:8000/systeminfo >/out/systeminfo.json || fail "/systeminfo"
    curl -sf -H "$auth" http://127.0.0.1:8000/metrics | families >/out/sandboxed
    mkdir -p /tmp/plain
    (cd /tmp/plain && exec lanstat-agent --listen 127.0.0.1:8009 --token "$token" >/dev/null 2>&1) &
    wait_http http://127.0.0.1:8009/healthz 200 || fail "plain agent not up"
    sleep 6
    curl -sf -H "$auth" http://127.0.0.1:8009/metrics | families >/out/plain
    kill %1
    diff /out/plain /out/sandboxed || fail "metric families differ between plain root and the unit"
    echo "agent: $(wc -l </out/sandboxed) metric families under the unit, as without it"
    systemd-run --wait --pipe --quiet -p DynamicUser=yes -p User=lanstat-agent \
      -p StateDirectory=lanstat-agent /usr/local/bin/lanstat-agent rotate-token || fail "rotate-token"
    systemctl restart lanstat-agent
    wait_http http://127.0.0.1:8000/healthz 200 || fail "agent not up after rotation"
    new=$(lanstat-agent token --token-file /var/lib/lanstat-agent/token)
    [[ $new != "$token" ]] || fail "token did not change"
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new" http://127.0.0.1:8000/systeminfo) == 200 ]] ||
      fail "new token refused"
    echo "agent: rotate-token through systemd-run works"
    ;;
  lanstat-server)
    wait_http http://127.0.0.1:8001/login 200 || { journalctl -u "$b" --no-pager; fail "server /login"; }
    [[ -s /var/lib/lanstat-server/stats.db ]] || fail "no /var/lib/lanstat-server/stats.db"
    systemd-run --wait --pipe --quiet -p DynamicUser=yes -p User=lanstat-server \
      -p StateDirectory=lanstat-server /usr/local/bin/lanstat-server backup /var/lib/lanstat-server/backup.db ||
      fail "backup"
    [[ -s /var/lib/lanstat-server/backup.db ]] || fail "backup wrote nothing"
    echo "server: database and /login under the unit, backup through systemd-run works"
    ;;
  esac
  [[ $(systemctl show -p NRestarts --value "$b") == 0 ]] || fail "$b restarted"
done
journalctl --no-pager -o cat -u 'lanstat-*' | tail -n 40
echo ok >/out/result
CHECK
)
EOF_CHECK

echo "systemd-smoke: booting the container"
timeout 300 systemd-nspawn -q --register=no --keep-unit --volatile=overlay -D "$rootfs" \
  --bind-ro="$stage:/stage" --bind="$work/out:/out" -b >"$work/boot.log" 2>&1 || true
cat "$work/out/log" 2>/dev/null || { tail -30 "$work/boot.log"; }
[[ $(cat "$work/out/result" 2>/dev/null) == ok ]] || { echo "systemd-smoke: failed" >&2; exit 1; }
echo "systemd-smoke: $BINS run under their units in systemd $(systemd-nspawn --version | sed -n '1s/systemd \([0-9]*\).*/\1/p')"
