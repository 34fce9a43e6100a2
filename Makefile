# lanstat: the two commands are `make run` and `make test`; the rest is documented in README.md.

CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: run test lint unit check-targets e2e demo bench bench-agent bench-server

## run: build and start the server on :8001; it monitors this host at once and prints how to log in
run:
	$(CARGO) build --release -p lanstat-server -p lanstat-agent
	./target/release/lanstat-server

## test: everything CI checks
test: lint unit check-targets e2e

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

## e2e: browser tests in headless Chromium against a real server and agent; screenshots in target/e2e/
e2e:
	$(CARGO) build -p lanstat-server -p lanstat-agent
	npm --prefix e2e ci --no-audit --no-fund
	node e2e/run.mjs

## demo: a simulated fleet with months of history behind a real server on :8001
demo:
	$(CARGO) build --release -p lanstat-server -p lanstat-agent --bins --examples
	./scripts/demo.sh

## bench: figures printed and written as JSON under target/bench/
bench: bench-agent bench-server

bench-agent:
	$(CARGO) build --release -p lanstat-agent
	$(CARGO) run --release -p lanstat-agent --example bench --features testkit

bench-server:
	$(CARGO) build --release -p lanstat-server --bins --examples
	$(CARGO) run --release -p lanstat-server --example bench
