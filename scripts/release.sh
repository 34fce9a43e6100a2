#!/usr/bin/env bash
# Builds static musl binaries of $BINS for $TARGETS with cargo-zigbuild (Zig is the C
# cross-compiler for bundled SQLite), packs dist/lanstat-<version>-<target>.tar.gz with the
# units, README (with the docs/*.md it links) and LICENSE, writes dist/SHA256SUMS and prints
# a size table against budgets.
# Called by `make release`, which sets BINS, TARGETS, NIGHTLY and puts cargo-zigbuild on PATH.
set -euo pipefail
# Where cargo builds: CARGO_TARGET_DIR (relative to where this was called from) or target/.
target_dir=$(realpath -m -- "${CARGO_TARGET_DIR:-$(dirname "$0")/../target}")
[[ -z ${CARGO_TARGET_DIR-} ]] || export CARGO_TARGET_DIR=$target_dir
cd "$(dirname "$0")/.."

: "${BINS:?}" "${TARGETS:?}" "${NIGHTLY:=nightly}" "${CARGO:=cargo}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[[ -n $version ]] || { echo "release: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
bin_flags=()
for b in $BINS; do bin_flags+=(--bin "$b"); done

# Budgets for the stripped binaries, in bytes.
budget() {
  case $1 in
    lanstat-agent) echo $((1536 * 1024)) ;;
    lanstat-server) echo $((4096 * 1024)) ;;
    *) echo "release: no size budget for $1" >&2; exit 1 ;;
  esac
}

has_target() { rustup target list --installed | grep -qx "$1"; }

# rustup serves the standard library for x86_64 and aarch64 musl. For armv7 musleabihf it
# may not (it answers 404 on some mirrors): such targets get std built from source on
# nightly, in their own target directory so that both builds can run at once. Most of
# a release build is single-threaded (codegen-units = 1, LTO, SQLite's one C file), so
# the two run side by side on two cores.
prebuilt=()
from_source=()
for t in $TARGETS; do
  if has_target "$t" || rustup target add "$t" >/dev/null 2>&1; then
    prebuilt+=("$t")
  else
    from_source+=("$t")
  fi
done
# Building std from source needs the nightly toolchain with rust-src. Where neither is on the
# machine nor can be fetched, those targets are skipped loudly (dist/SKIPPED says which) rather
# than failing the targets that can be built.
nightly_ready() {
  { rustup toolchain list | grep -q "^$NIGHTLY" ||
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >/dev/null 2>&1; } &&
    { rustup "+$NIGHTLY" component list --installed | grep -qx rust-src ||
      rustup "+$NIGHTLY" component add rust-src >/dev/null 2>&1; }
}
skipped=()
if ((${#from_source[@]})) && ! nightly_ready; then
  skipped=("${from_source[@]}")
  from_source=()
  echo "release: SKIPPING ${skipped[*]}: rustup has no standard library for it and the" \
    "$NIGHTLY toolchain with rust-src cannot be installed here" >&2
fi
build_std_dir=$target_dir/build-std
out_dir() {
  case " ${from_source[*]-} " in
    *" $1 "*) echo "$build_std_dir/$1/release" ;;
    *) echo "$target_dir/$1/release" ;;
  esac
}

build_std() {
  # panic_unwind, not panic_abort: the release profile keeps panic = "unwind" so a panicking
  # request thread does not take the process down. Zig's linker brings crt1.o and libc
  # itself, hence link-self-contained=no (rustup ships no self-contained objects here).
  local t flags=() envs=()
  for t in "$@"; do
    flags+=(--target "$t")
    envs+=("CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C link-self-contained=no -A linker-messages")
  done
  exec env "${envs[@]}" CARGO_TARGET_DIR="$build_std_dir" \
    "$CARGO" "+$NIGHTLY" zigbuild --release --locked "${flags[@]}" \
    -Zbuild-std=std,panic_unwind "${bin_flags[@]}"
}

build_std_pid=
if ((${#from_source[@]})); then
  echo "release: ${from_source[*]}: rustup has no standard library; building it on $NIGHTLY" \
    "(-Zbuild-std) in the background, log in $build_std_dir.log"
  mkdir -p "$build_std_dir"
  build_std "${from_source[@]}" >"$build_std_dir.log" 2>&1 &
  build_std_pid=$!
  trap 'kill "$build_std_pid" 2>/dev/null || true' EXIT
fi
if ((${#prebuilt[@]})); then
  echo "release: ${prebuilt[*]} with rustup's standard library"
  target_flags=()
  for t in "${prebuilt[@]}"; do target_flags+=(--target "$t"); done
  "$CARGO" zigbuild --release --locked "${target_flags[@]}" "${bin_flags[@]}"
fi
if [[ -n $build_std_pid ]]; then
  build_std_ok=1
  wait "$build_std_pid" || build_std_ok=0
  trap - EXIT
  if ((!build_std_ok)); then
    cat "$build_std_dir.log" >&2
    echo "release: the -Zbuild-std build failed" >&2
    exit 1
  fi
  grep -v '^ *Compiling ' "$build_std_dir.log" || true
fi

rm -rf dist
mkdir -p dist
built=()
for t in $TARGETS; do
  case " ${skipped[*]-} " in *" $t "*) ;; *) built+=("$t") ;; esac
done
((${#skipped[@]} == 0)) || printf '%s\n' "${skipped[@]}" >dist/SKIPPED
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
sizes=()
for t in "${built[@]}"; do
  name="lanstat-$version-$t"
  stage="dist/$name"
  mkdir -p "$stage/systemd"
  for b in $BINS; do
    install -m 0755 "$(out_dir "$t")/$b" "$stage/$b"
    install -m 0644 "systemd/$b.service" "$stage/systemd/$b.service"
    sizes+=("$t $b $(stat -c %s "$stage/$b")")
  done
  install -m 0644 README.md LICENSE "$stage/"
  install -D -m 0644 -t "$stage/docs" docs/*.md
  # Same inputs, same archive: fixed order, owners and times, and no gzip timestamp.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C dist -cf - "$name" | gzip -9n >"dist/$name.tar.gz"
  rm -rf "$stage"
done
(cd dist && sha256sum -- *.tar.gz >SHA256SUMS)

over=0
printf '\n%-34s %-16s %10s %9s %9s\n' target binary bytes MiB budget
for row in "${sizes[@]}"; do
  read -r t b n <<<"$row"
  max=$(budget "$b")
  mark=ok
  ((n <= max)) || { mark="OVER BUDGET"; over=1; }
  printf '%-34s %-16s %10d %9s %9s  %s\n' "$t" "$b" "$n" \
    "$(awk "BEGIN{printf \"%.2f\", $n/1048576}")" "$(awk "BEGIN{printf \"%.1f\", $max/1048576}")" "$mark"
done
echo
ls -l dist
exit "$over"
