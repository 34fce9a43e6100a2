# lanstat: the two commands are `make run` and `make test`; the rest is documented in README.md.

CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: run test lint unit check-targets bench bench-agent build release

## run: build and start the agent on :8000 (the server takes over this target once it exists)
run:
	$(CARGO) build --release -p lanstat-agent
	./target/release/lanstat-agent --listen 0.0.0.0:8000

## test: everything CI checks
test: lint unit check-targets check-units

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --features lanstat-agent/testkit -- -D warnings

unit:
	$(CARGO) test --workspace --all-features

## check-targets: the agent still compiles for Windows and macOS
check-targets:
	@for t in x86_64-pc-windows-gnu aarch64-apple-darwin; do \
	  rustup target list --installed | grep -qx $$t || rustup target add $$t || exit 1; \
	  echo "cargo check -p lanstat-agent --target $$t"; \
	  $(CARGO) check -q -p lanstat-agent --target $$t || exit 1; \
	done

## bench: figures printed and written as JSON under target/bench/
bench: bench-agent

bench-agent:
	$(CARGO) build --release -p lanstat-agent
	$(CARGO) run --release -p lanstat-agent --example bench --features testkit

# ---------------------------------------------------------------------------------------
# Release, install and systemd units (docs/install.md)

# The binaries that are released and installed; each has systemd/<name>.service.
RELEASE_BINS ?= lanstat-agent

.PHONY: check-units

## check-units: systemd-analyze verify and security on systemd/*.service
check-units:
	scripts/check-units.sh systemd/*.service
