#!/usr/bin/env bash
# Checks what `make release` wrote: each archive holds the binaries, units, README, the
# docs/ it links and LICENSE; `file` calls every binary statically linked; and each binary runs (under
# qemu-user for ARM): the agent answers /systeminfo with real figures, the server starts,
# creates its database and answers /login. Called by `make release-check` with BINS, TARGETS.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BINS:?}" "${TARGETS:?}"
# Targets `make release` had to skip (no toolchain for them here) are reported, not checked.
if [[ -f dist/SKIPPED ]]; then
  echo "release-check: NOT CHECKED (skipped by make release): $(tr '\n' ' ' <dist/SKIPPED)" >&2
  TARGETS=$(for t in $TARGETS; do grep -qx "$t" dist/SKIPPED || echo "$t"; done | tr '\n' ' ')
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "release-check: $*" >&2; exit 1; }

runner_for() {
  case $1 in
    x86_64-*) [[ $(uname -m) == x86_64 ]] && echo "" || echo qemu-x86_64-static ;;
    aarch64-*) echo qemu-aarch64-static ;;
    armv7-*) echo qemu-arm-static ;;
    *) fail "no runner for $1" ;;
  esac
}

# Starts "$@" with its output in $log, waits for its line `listening on ADDR`, and
# sets $addr and $pid.
start() {
  "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    addr=$(sed -n 's/^listening on //p' "$log" | head -n1)
    [[ -n $addr ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$* exited before listening"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "$* printed no 'listening on' line in 30 s"
}

# Sends SIGTERM and expects a clean exit within 20 s.
stop() {
  kill -TERM "$pid"
  local rc=0
  timeout 20 tail --pid="$pid" -f /dev/null || fail "pid $pid did not stop on SIGTERM"
  wait "$pid" || rc=$?
  ((rc == 0)) || { cat "$log" >&2; fail "exit code $rc after SIGTERM"; }
}

check_agent() {
  local run=$1 bin=$2 state=$3
  mkdir -m 0700 "$state"
  log=$state.log
  STATE_DIRECTORY=$state start $run "$bin" --listen 127.0.0.1:0 --sample-interval 1
  local token
  token=$(cat "$state/token")
  [[ $(stat -c %a "$state/token") == 600 ]] || fail "token file mode is not 600"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$addr/systeminfo") == 401 ]] ||
    fail "/systeminfo without a token did not answer 401"
  sleep 2 # one more sample, so rates exist
  curl -sf -H "Authorization: Bearer $token" "http://$addr/systeminfo" >"$state.json" ||
    fail "/systeminfo with the token failed"
  python3 - "$state.json" <<'PY' || fail "/systeminfo figures are not real: $(head -c 400 "$state.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["memory"]["total"] > 0 and 0 < s["memory"]["used"] <= s["memory"]["total"]
assert s["disk"]["total"] > 0 and 0 <= s["disk"]["percent"] <= 100
assert 0 <= s["cpu_percent"] <= 100
assert s["network"]["bytes_recv"] >= 0 and s["network_usage"]["bytes_recv_per_sec"] >= 0
assert s["hostname"] and s["system"] == "Linux"
print(f'  /systeminfo: memory {s["memory"]["total"] >> 20} MiB, disk {s["disk"]["total"] >> 30} GiB, '
      f'cpu {s["cpu_percent"]}%, host {s["hostname"]}')
PY
  stop
}

check_server() {
  local run=$1 bin=$2 state=$3
  mkdir -m 0700 "$state"
  log=$state.log
  STATE_DIRECTORY=$state ADMIN_PASSWORD=release-check-password \
    start $run "$bin" --listen 127.0.0.1:0
  [[ -s $state/stats.db ]] || fail "no database at \$STATE_DIRECTORY/stats.db"
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/login")
  [[ $code == 200 ]] || fail "GET /login answered $code"
  echo "  /login: 200, database $(stat -c %s "$state/stats.db") bytes"
  stop
}

for t in $TARGETS; do
  name="lanstat-$version-$t"
  archive="dist/$name.tar.gz"
  [[ -f $archive ]] || fail "$archive is missing (run make release)"
  (cd dist && grep " $name.tar.gz\$" SHA256SUMS | sha256sum -c --quiet) || fail "$archive does not match SHA256SUMS"
  tar -C "$work" -xzf "$archive"
  dir="$work/$name"
  for f in README.md LICENSE docs/api.md; do [[ -f $dir/$f ]] || fail "$archive has no $f"; done
  run=$(runner_for "$t")
  for b in $BINS; do
    [[ -x $dir/$b ]] || fail "$archive has no executable $b"
    [[ -f $dir/systemd/$b.service ]] || fail "$archive has no systemd/$b.service"
    desc=$(file -b "$dir/$b")
    [[ $desc == *"statically linked"* ]] || fail "$t/$b is not static: $desc"
    echo "$t $b: $desc"
    case $b in
      lanstat-agent) check_agent "$run" "$dir/$b" "$work/$t-$b" ;;
      lanstat-server) check_server "$run" "$dir/$b" "$work/$t-$b" ;;
      *) fail "no run check for $b" ;;
    esac
  done
done
echo "release-check: $(wc -w <<<"$BINS") binaries x $(wc -w <<<"$TARGETS") targets are static and run"
