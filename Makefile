# packgen — see README.md. `make demo` is the main job, `make test` runs everything.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN := bin/packgen
# go install's bin dir, where .ci/run puts the OCI tests' tools (registry,
# oras, cosign): on PATH for every recipe, after the user's own PATH.
export PATH := $(PATH):$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
FUZZTIME ?= 10s
# Go minimizes every new interesting input for up to 60 s; over a 2 KB
# index.json its O(n²) pass never ends sooner, and two such inputs stall
# both workers for the rest of a short run (docs/PERFORMANCE.md, "Fuzzing
# speed"). Crashers are minimized as long; FUZZMINIMIZE=60s restores Go's.
FUZZMINIMIZE ?= 3s

.PHONY: all build install test test-tools-check vet fmt-check lint-workflows unit fuzz bench demo clean killtest

all: build

# packgen and packgen-helm, the chart renderer it runs beside itself (it
# links Helm so that packgen does not: docs/ARCHITECTURE.md, "Import
# rules"), in one go command with the same flags: packgen refuses a
# packgen-helm from another build. Static (CGO_ENABLED=0), as the
# releases are (ci.yml): a cgo build's dynamic loading costs each short
# command about 1.5 ms of start (docs/PERFORMANCE.md, "Fetch start-up").
# Not exported: the tests' -race needs cgo.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/packgen ./cmd/packgen-helm

# go install both into $(go env GOBIN) (or GOPATH/bin), side by side.
install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/packgen ./cmd/packgen-helm

# The README's test command: formatting, vet, workflow lint, every test with
# the race detector, and a short pass of every fuzz target. It ends by
# naming the tests skipped for lack of an outside tool (chromium, cosign,
# git, registry, oras); under CI=true a tool CI must have that is missing
# fails it first.
test: test-tools-check fmt-check vet lint-workflows
	@# A failure still says what was skipped: easier to read knowing what
	@# did not run.
	@# -timeout: cmd/packgen takes 200 s on a quiet 2-core machine and
	@# 600 s with other work beside it, where go test's default 10m ends it.
	$(GO) test -race -count=1 -timeout 30m ./... || { ./scripts/test-tools.sh summary; exit 1; }
	cd bench && $(GO) test -count=1 ./measure/
	@$(MAKE) --no-print-directory fuzz-smoke
	@./scripts/test-tools.sh summary

test-tools-check:
	@./scripts/test-tools.sh check

# actionlint on this repository's workflows and the GitOps example's. Run
# as `go run module@version` so the main module does not depend on it. Once
# downloaded it runs offline: the module cache then serves as the proxy
# (plain `go run pkg@version` would still look the module up online).
# shellcheck and pyflakes integrations are off so results do not depend on
# what else the machine has installed.
ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
lint-workflows:
	@cache=file://$$($(GO) env GOMODCACHE)/cache/download; \
	if GOPROXY=$$cache $(GO) run $(ACTIONLINT) -version >/dev/null 2>&1; then export GOPROXY=$$cache; fi; \
	echo "actionlint .github/workflows examples/gitops/.github/workflows"; \
	$(GO) run $(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yml examples/gitops/.github/workflows/*.yml

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Runs every Fuzz* target for FUZZTIME each (targets found by grep, so
# packages without any are not compiled; each package's fuzzing binary
# built once for all its targets: scripts/fuzz.sh). Seed corpora in
# testdata/fuzz/ run in every plain `go test`; crashers found land there
# too and must be committed as regression cases.
fuzz:
	@GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) $(FUZZMINIMIZE)

# CI's short fuzzing pass: every target for FUZZSMOKE executions (part of
# make test). A count, not a duration: duration-bounded fuzzing can fail
# with a spurious "context deadline exceeded" on a loaded machine
# (go.dev/issue/75804).
FUZZSMOKE ?= 2000x
fuzz-smoke:
	@set -o pipefail; $(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZSMOKE) | { grep -v '^fuzz: elapsed' || true; }

# Go benchmarks, then the scale driver (bench/, its own module so the main
# module never depends on Helm): one table of every figure against its goal,
# packgen beside Helm on the same 5,000 releases. BENCHFLAGS go to the driver
# (e.g. BENCHFLAGS='-packs 200 -runs 1' for a quick look).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd bench && $(GO) run ./cmd/benchtable $(BENCHFLAGS)

# The kill -9 trial loop at full length: 80 builds killed at random
# moments over one out dir, each followed by verify --site (make test
# runs 10). Bounded: each trial is one small build.
KILL_TRIALS ?= 80
killtest:
	PACKGEN_KILL_TRIALS=$(KILL_TRIALS) $(GO) test -count=1 -run '^TestBuildSurvivesSIGKILL$$' -timeout 20m -v ./build/ | grep -E '^(---|ok|FAIL|\s+crash_test)'

# Build a registry from examples/packs, serve it, fetch and verify a pack.
demo: build
	./scripts/demo.sh

clean:
	rm -rf bin out site demo
