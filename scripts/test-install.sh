#!/usr/bin/env bash
# `make install DESTDIR=<tmp> PREFIX=/usr` puts each binary (0755) in usr/bin and its unit
# (0644, ExecStart= pointing there) in usr/lib/systemd/system, nothing else, and prints the
# next steps; `make uninstall` with the same variables removes them. Needs no root.
# Called by `make test-install` with BINS, after a debug build of the binaries.
set -euo pipefail
# Where cargo builds: CARGO_TARGET_DIR (relative to where this was called from) or target/.
target_dir=$(realpath -m -- "${CARGO_TARGET_DIR:-$(dirname "$0")/../target}")
cd "$(dirname "$0")/.."

: "${BINS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }
mode() { stat -c %a "$1"; }

vars=(DESTDIR="$tmp/root" PREFIX=/usr INSTALL_FROM="$target_dir/debug" RELEASE_BINS="$BINS")
make -s --no-print-directory install "${vars[@]}" >"$tmp/out" || { cat "$tmp/out"; fail "make install failed"; }

expected=()
for b in $BINS; do
  bin=$tmp/root/usr/bin/$b
  unit=$tmp/root/usr/lib/systemd/system/$b.service
  expected+=("usr/bin/$b" "usr/lib/systemd/system/$b.service")
  [[ -x $bin && $(mode "$bin") == 755 ]] || fail "$bin missing or not mode 755"
  cmp -s "$bin" "$target_dir/debug/$b" || fail "$bin is not the built binary"
  [[ -f $unit && $(mode "$unit") == 644 ]] || fail "$unit missing or not mode 644"
  grep -qx "ExecStart=/usr/bin/$b" "$unit" || fail "$unit does not start /usr/bin/$b"
  grep -q "systemctl enable --now $b" "$tmp/out" || fail "the next steps do not say how to enable $b"
done
got=$(cd "$tmp/root" && find . -type f | sed 's|^\./||' | sort)
want=$(printf '%s\n' "${expected[@]}" | sort)
[[ $got == "$want" ]] || fail "installed files differ: got
$got
want
$want"

make -s --no-print-directory uninstall "${vars[@]}" >"$tmp/out" || { cat "$tmp/out"; fail "make uninstall failed"; }
left=$(find "$tmp/root" -type f)
[[ -z $left ]] || fail "make uninstall left: $left"

# The default prefix is /usr/local, and units go where systemd looks for local ones.
make -s --no-print-directory install DESTDIR="$tmp/local" INSTALL_FROM="$target_dir/debug" RELEASE_BINS="$BINS" >/dev/null
for b in $BINS; do
  [[ -x $tmp/local/usr/local/bin/$b ]] || fail "default PREFIX did not install usr/local/bin/$b"
  grep -qx "ExecStart=/usr/local/bin/$b" "$tmp/local/usr/local/lib/systemd/system/$b.service" ||
    fail "default PREFIX unit does not start /usr/local/bin/$b"
done
echo "test-install: install and uninstall of $BINS into DESTDIR are right"
