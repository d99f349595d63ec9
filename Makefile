# paynode's one test command is `make test`: it installs what the tests
# need (the Solidity toolchain from npm) and runs every test there is.

GO        ?= go
CONTRACTS := contracts
FORGE     := $(CONTRACTS)/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
export ANVIL := $(CURDIR)/$(CONTRACTS)/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
# promtool and prometheus come from Debian's prometheus package
# (scripts/install-prometheus.sh, which .ci/run calls).
PROMTOOL  ?= promtool

.PHONY: all build test deps test-contracts test-go test-rules vet fuzz generate bench-gas clean

all: build

build:
	$(GO) build -o bin/paynode ./cmd/paynode

## deps: install forge, anvil, solc-js and OpenZeppelin into contracts/node_modules
deps: $(CONTRACTS)/node_modules/.package-lock.json

$(CONTRACTS)/node_modules/.package-lock.json: $(CONTRACTS)/package.json $(CONTRACTS)/package-lock.json
	cd $(CONTRACTS) && npm ci --no-audit --no-fund

## test: everything CI runs
test: deps vet test-rules test-contracts test-go fuzz

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test-contracts: deps
	cd $(CONTRACTS) && ./node_modules/@foundry-rs/forge-linux-amd64/bin/forge test

## test-rules: check the Prometheus alert rules and run their unit tests
test-rules:
	@command -v $(PROMTOOL) >/dev/null 2>&1 || { echo "test-rules: $(PROMTOOL) not found; install Debian's prometheus package (scripts/install-prometheus.sh, as .ci/run does)" >&2; exit 1; }
	$(PROMTOOL) check rules metrics/alerts.yml
	$(PROMTOOL) test rules metrics/alerts_test.yml

test-go: deps
	$(GO) test -count=1 -timeout 20m ./...

## fuzz: every Go fuzz target for FUZZTIME (default 10000x) each
fuzz:
	./scripts/fuzz.sh

## generate: rebuild the Go bindings after a contract change
generate: deps
	$(GO) generate ./contracts/...

## bench-gas: the settlement gas table of docs/benchmarks.md
bench-gas: deps
	cd $(CONTRACTS) && ./node_modules/@foundry-rs/forge-linux-amd64/bin/forge test --isolate --match-contract SettlementGas -vv

clean:
	rm -rf bin $(CONTRACTS)/out $(CONTRACTS)/cache
