#!/usr/bin/env bash
# `make demo`: a simulated fleet with months of history behind a real server, so a newcomer
# sees a full dashboard in one command. Everything lives in target/demo (under CARGO_TARGET_DIR
# when set) and stops with Ctrl-C.
set -euo pipefail
# Where cargo builds: CARGO_TARGET_DIR (relative to where this was called from) or target/.
target_dir=$(realpath -m -- "${CARGO_TARGET_DIR:-$(dirname "$0")/../target}")
cd "$(dirname "$0")/.."

agents=${DEMO_AGENTS:-24}
days=${DEMO_DAYS:-90}
# The demo's admin has a fixed password, printed below: fine for a throwaway database of
# simulated machines, so the demo listens on this machine only unless DEMO_LISTEN says otherwise.
listen=${DEMO_LISTEN:-127.0.0.1:8001}
demo_user=admin
demo_password=lanstat-demo
dir=$target_dir/demo

rm -rf "$dir"
mkdir -p "$dir"
"$target_dir/release/examples/fleet" --agents "$agents" --dead 8 --slow 4 --manifest "$dir/fleet.json" >"$dir/fleet.log" 2>&1 &
fleet=$!
trap 'kill "$fleet" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s "$dir/fleet.json" ]] && break; sleep 0.1; done
[[ -s "$dir/fleet.json" ]] || { echo "demo: the simulated fleet did not start; see $dir/fleet.log" >&2; exit 1; }

echo "Writing $days days of history for $agents simulated machines..."
"$target_dir/release/examples/backfill" --db "$dir/demo.db" --manifest "$dir/fleet.json" --days "$days" --interval 10
echo "Starting the server; press Ctrl-C to stop the demo."
echo "Log in as $demo_user with the password $demo_password (the demo's own: no change is asked)."
# ADMIN_PASSWORD makes the first admin with a chosen password, as on any server, so there is
# no forced change to go through.
ADMIN_USERNAME=$demo_user ADMIN_PASSWORD=$demo_password \
  "$target_dir/release/lanstat-server" --db "$dir/demo.db" --poll-interval 10 --listen "$listen"
