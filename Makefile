# lanstat: the two commands are `make run` and `make test`; the rest is documented in README.md.

CARGO ?= cargo
# Where cargo builds: CARGO_TARGET_DIR when it is set, else target/. Every target below and the
# scripts they call find the binaries there, and keep what they make there too (the target/
# paths named below: e2e screenshots, the demo, bench figures).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
ifneq ($(CARGO_TARGET_DIR),)
export CARGO_TARGET_DIR
endif
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: run test lint unit check-targets e2e demo bench bench-agent bench-server

## run: build and start the server on :8001; it monitors this host at once and prints how to log in.
## Its database is stats.db in this folder.
run:
	$(CARGO) build --release -p lanstat-server -p lanstat-agent
	$(TARGET_DIR)/release/lanstat-server

## test: everything CI checks
test: lint unit check-targets check-units test-install e2e

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

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
	$(CARGO) build --release -p lanstat-server -p lanstat-agent --bins --examples --features lanstat-server/sim
	./scripts/demo.sh

## bench: figures printed and written as JSON under target/bench/
bench: bench-agent bench-server

bench-agent:
	$(CARGO) build --release -p lanstat-agent
	$(CARGO) run --release -p lanstat-agent --example bench-agent --features testkit

bench-server:
	$(CARGO) build --release -p lanstat-server --bins --examples --features sim
	$(CARGO) run --release -p lanstat-server --example bench-server --features sim

# ---------------------------------------------------------------------------------------
# Release, install and systemd units (README: Install on a Raspberry Pi)

# The binaries that are released and installed; each has systemd/<name>.service.
RELEASE_BINS ?= lanstat-agent lanstat-server

.PHONY: check-units check-units-live

## check-units: systemd-analyze verify and security on systemd/*.service
check-units:
	scripts/check-units.sh systemd/*.service

# Install layout; INSTALL_FROM is where the built binaries are taken from.
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_FROM ?= $(TARGET_DIR)/release

.PHONY: install uninstall test-install

## build: release binaries for this machine, for `make install`
build:
	$(CARGO) build --release --locked $(addprefix --bin ,$(RELEASE_BINS))

## install: the binaries and units under $(DESTDIR)$(PREFIX), after `make build`
install:
	@for b in $(RELEASE_BINS); do \
	  test -x "$(INSTALL_FROM)/$$b" || { \
	    echo "$(INSTALL_FROM)/$$b is missing: run 'make build' first (not as root), then 'sudo make install'" \
	      "(sudo drops CARGO_TARGET_DIR: give it again, or INSTALL_FROM=, if the build used one)"; \
	    exit 1; }; \
	done
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)"
	@set -e; for b in $(RELEASE_BINS); do \
	  echo "install $(DESTDIR)$(BINDIR)/$$b $(DESTDIR)$(UNITDIR)/$$b.service"; \
	  install -m 0755 "$(INSTALL_FROM)/$$b" "$(DESTDIR)$(BINDIR)/$$b"; \
	  sed 's|^ExecStart=/usr/local/bin/|ExecStart=$(BINDIR)/|' "systemd/$$b.service" \
	    >"$(DESTDIR)$(UNITDIR)/$$b.service"; \
	  chmod 0644 "$(DESTDIR)$(UNITDIR)/$$b.service"; \
	done
	@echo
	@echo "Next steps:"
	@echo "  sudo systemctl daemon-reload"
	@for b in $(RELEASE_BINS); do echo "  sudo systemctl enable --now $$b"; done
	@case " $(RELEASE_BINS) " in *" lanstat-agent "*) \
	  echo "  sudo $(BINDIR)/lanstat-agent token --token-file /var/lib/lanstat-agent/token   # the token for the dashboard";; esac
	@case " $(RELEASE_BINS) " in *" lanstat-server "*) \
	  echo "  sudo journalctl -u lanstat-server   # the first admin password; the dashboard is on port 8001";; esac
	@echo "See the README (Install on a Raspberry Pi, Security) for updates, backups and security."

## uninstall: remove what `make install` installed (the state in /var/lib stays)
uninstall:
	@echo "Stop the services first if they run: sudo systemctl disable --now $(RELEASE_BINS)"
	@set -e; for b in $(RELEASE_BINS); do \
	  echo "rm -f $(DESTDIR)$(BINDIR)/$$b $(DESTDIR)$(UNITDIR)/$$b.service"; \
	  rm -f "$(DESTDIR)$(BINDIR)/$$b" "$(DESTDIR)$(UNITDIR)/$$b.service"; \
	done
	@echo "The state in /var/lib/lanstat-* (token, database) is kept; remove it by hand if wanted."
	@echo "Then: sudo systemctl daemon-reload"

## test-install: `make install` and `make uninstall` into a temporary DESTDIR
test-install:
	$(CARGO) build -q --locked $(addprefix --bin ,$(RELEASE_BINS))
	BINS="$(RELEASE_BINS)" scripts/test-install.sh

RELEASE_TARGETS ?= x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
# The toolchain that builds std from source where rustup has no prebuilt one (armv7 musl).
NIGHTLY ?= nightly
# cargo-zigbuild and Zig come from PyPI, pinned, into a local tool folder.
TOOLS := $(CURDIR)/.tools
ZIGLANG_VERSION := 0.17.1
CARGO_ZIGBUILD_VERSION := 0.24.1
ZIG_STAMP := $(TOOLS)/venv/.ziglang-$(ZIGLANG_VERSION)-cargo-zigbuild-$(CARGO_ZIGBUILD_VERSION)

.PHONY: release-tools release-check

$(ZIG_STAMP):
	rm -rf $(TOOLS)/venv
	python3 -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install -q --disable-pip-version-check \
	  ziglang==$(ZIGLANG_VERSION) cargo-zigbuild==$(CARGO_ZIGBUILD_VERSION)
	touch $@

release-tools: $(ZIG_STAMP)

## release: static musl binaries for every target, archives and SHA256SUMS under dist/
release: $(ZIG_STAMP)
	PATH="$(TOOLS)/venv/bin:$$PATH" BINS="$(RELEASE_BINS)" TARGETS="$(RELEASE_TARGETS)" \
	  NIGHTLY="$(NIGHTLY)" CARGO="$(CARGO)" scripts/release.sh

## release-check: the archives' binaries are static and run under qemu (CI runs this)
release-check: release
	BINS="$(RELEASE_BINS)" TARGETS="$(RELEASE_TARGETS)" scripts/release-check.sh

## check-units-live: boot a Debian container (systemd-nspawn, root) and run the units for real
check-units-live: release
	BINS="$(RELEASE_BINS)" scripts/systemd-smoke.sh

