# The only task runner. `make test` is what CI runs (see .ci/run).
CARGO ?= cargo
DATA ?= ./data

# cargo-nextest runs tests in parallel processes; fall back to `cargo test` where it is missing.
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: test fmt-check lint test-all fmt run schema bench bench-quick build
.PHONY: crash-test
.PHONY: fuzz
.PHONY: bench-load bench-load-quick soak
.PHONY: bench-scale bench-scale-quick

test: fmt-check lint test-all

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-all:
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --workspace --locked --no-fail-fast
	$(CARGO) test --workspace --locked --doc
else
	$(CARGO) test --workspace --locked --no-fail-fast
endif

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --release --locked -p itsm-cli

# Builds in release mode and serves GraphQL on http://127.0.0.1:8080/graphql from the sled store
# in $(DATA). On the first start it seeds the demo data and prints an admin token (once).
run: build
	./target/release/ledgerdesk --data $(DATA) serve --demo

# Regenerates schema/schema.graphql from the code (the SDL test fails when they drift).
schema:
	$(CARGO) run --locked --quiet -p itsm-cli -- schema > schema/schema.graphql.tmp
	mv schema/schema.graphql.tmp schema/schema.graphql

# Every figure of docs/PERFORMANCE.md in one run: the event store against raw sled, read-model
# memory, the million-incident ledger (generated once into SCALE_DATA: rebuild_all,
# startup_snapshot), then HTTP load on that same ledger (query_queue_p99 at its size,
# mutation_log_incident). Long: the first run generates the ledger (see bench-scale).
bench:
	$(CARGO) run --release --locked -p itsm-benches --bin storebench
	$(CARGO) run --release --locked -p itsm-benches --bin readbench
	$(MAKE) bench-scale
	$(MAKE) bench-load LOAD_DATA=$(SCALE_DATA)

# The same figures on small data (each bench's --quick), to check that everything runs.
bench-quick:
	$(CARGO) run --release --locked -p itsm-benches --bin storebench -- --quick
	$(CARGO) run --release --locked -p itsm-benches --bin readbench -- --quick
	$(MAKE) bench-scale-quick
	$(MAKE) bench-load-quick

# Crash safety, long version (minutes): 100 SIGKILL-and-restart cycles against a release build.
# Figures go to docs/RELIABILITY.md. CRASH_CYCLES and CRASH_SEED override the cycles and the seed.
CRASH_CYCLES ?= 100
crash-test:
	$(CARGO) build --release --locked -p itsm-cli
	LEDGERDESK_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release/ledgerdesk" CRASH_CYCLES=$(CRASH_CYCLES) \
		$(CARGO) test --locked -p itsm-e2e --test crash -- --nocapture

# Hostile input, long: 5000 generated requests against the real server, 20000 mutated envelopes
# and payloads through the codec (make test runs 300 and 256). Figures: docs/RELIABILITY.md.
FUZZ_CASES ?= 5000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked -p itsm-e2e --test fuzz -- --nocapture
	PROPTEST_CASES=20000 $(CARGO) test --locked -p itsm-eventstore --lib codec::tests::mutated

# HTTP load (docs/PERFORMANCE.md, "HTTP load (loadgen)"): loadgen starts a release
# `ledgerdesk serve` on a fresh `ledgerdesk demo` ledger of LOAD_INCIDENTS incidents (in LOAD_DIR,
# deleted afterwards) and measures at 64 connections; two minutes at most, quick: seconds.
# LOAD_DATA=DIR measures an existing ledger instead (kept; loadgen adds its incidents to it).
LOAD_INCIDENTS ?= 3000
LOAD_DIR ?= $(CURDIR)/target/load-data
bench-load-quick: LOADGEN_ARGS = --quick
bench-load-quick: LOAD_INCIDENTS = 300
bench-load bench-load-quick:
	$(CARGO) build --release --locked -p itsm-cli --bin ledgerdesk
	$(CARGO) build --release --locked -p itsm-benches --bin loadgen
	@bin="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release"; \
	if [ -n "$(LOAD_DATA)" ]; then \
		"$$bin/loadgen" --spawn --bin "$$bin/ledgerdesk" --data "$(LOAD_DATA)" $(LOADGEN_ARGS); \
	else \
		rm -rf "$(LOAD_DIR)" && "$$bin/ledgerdesk" --data "$(LOAD_DIR)" demo --incidents $(LOAD_INCIDENTS) >/dev/null && \
		"$$bin/loadgen" --spawn --bin "$$bin/ledgerdesk" --data "$(LOAD_DIR)" $(LOADGEN_ARGS); \
		status=$$?; rm -rf "$(LOAD_DIR)"; exit $$status; \
	fi

# Soak (docs/RELIABILITY.md, "Soak"): SOAK_MINUTES of mixed load (log, assign, acknowledge,
# resolve; queue, incident, dashboard) at 8 connections on a fresh demo ledger, sampling the
# server's RSS and projection lag every 10 s; fails on any failed request.
SOAK_MINUTES ?= 10
SOAK_DIR ?= $(CURDIR)/target/soak-data
soak:
	$(CARGO) build --release --locked -p itsm-cli --bin ledgerdesk
	$(CARGO) build --release --locked -p itsm-benches --bin loadgen
	@bin="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release"; \
	rm -rf "$(SOAK_DIR)" && "$$bin/ledgerdesk" --data "$(SOAK_DIR)" demo >/dev/null && \
	"$$bin/loadgen" soak --spawn --bin "$$bin/ledgerdesk" --data "$(SOAK_DIR)" --minutes $(SOAK_MINUTES); \
	status=$$?; rm -rf "$(SOAK_DIR)"; exit $$status

# A million incidents (docs/PERFORMANCE.md, "A million incidents"): genledger writes the ledger
# into SCALE_DATA once (1M incidents / 100k open: estimated 40 min and 17 GB of disk; kept for the next
# run and for loadgen), then scalebench measures rebuild_all and startup_snapshot on it with the
# release ledgerdesk. Quick: scalebench on its own small ledger in a temporary directory.
SCALE_DATA ?= ./bench-data/1m
SCALE_ARGS ?= --incidents 1000000 --open 100000
bench-scale:
	$(CARGO) build --release --locked -p itsm-cli --bin ledgerdesk
	$(CARGO) build --release --locked -p itsm-benches --bin genledger --bin scalebench
	@bin="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release"; \
	if [ ! -d "$(SCALE_DATA)" ]; then \
		rm -rf "$(SCALE_DATA).partial" && \
		"$$bin/genledger" --data "$(SCALE_DATA).partial" $(SCALE_ARGS) && \
		mv "$(SCALE_DATA).partial" "$(SCALE_DATA)" || exit 1; \
	fi; \
	"$$bin/scalebench" --data "$(SCALE_DATA)" --bin "$$bin/ledgerdesk"

bench-scale-quick:
	$(CARGO) build --release --locked -p itsm-cli --bin ledgerdesk
	$(CARGO) build --release --locked -p itsm-benches --bin scalebench
	@bin="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release"; \
	"$$bin/scalebench" --quick --bin "$$bin/ledgerdesk"
