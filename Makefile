# Marina's developer entry points. `make help` lists them.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help build test unit vet fuzz bench deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build the static marina binary into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/marina ./cmd/marina

test: deps vet ## install test dependencies, vet, and run every test (what CI runs)
	$(GO) test -count=1 -timeout 20m ./...

unit: ## run the fast tests only
	$(GO) test -short -count=1 ./...

vet: ## go vet, and gofmt finds nothing to change
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi

FUZZTIME ?= 30s
fuzz: ## fuzz the decoders of network input for FUZZTIME each
	$(GO) test -run '^$$' -fuzz FuzzDecodeCall -fuzztime $(FUZZTIME) ./internal/master/
	$(GO) test -run '^$$' -fuzz FuzzProxyCall -fuzztime $(FUZZTIME) ./internal/master/
	$(GO) test -run '^$$' -fuzz FuzzDecodeOperatorCall -fuzztime $(FUZZTIME) ./internal/master/
	$(GO) test -run '^$$' -fuzz FuzzParseResources -fuzztime $(FUZZTIME) ./internal/api/mesos/
	$(GO) test -run '^$$' -fuzz FuzzDecodeApp -fuzztime $(FUZZTIME) ./internal/api/marathon/
	$(GO) test -run '^$$' -fuzz FuzzEventReader -fuzztime $(FUZZTIME) ./internal/client/marathon/
	$(GO) test -run '^$$' -fuzz FuzzSelector -fuzztime $(FUZZTIME) ./internal/services/
	$(GO) test -run '^$$' -fuzz FuzzDecodeGroup -fuzztime $(FUZZTIME) ./internal/services/
	$(GO) test -run '^$$' -fuzz FuzzCredentials -fuzztime $(FUZZTIME) ./internal/auth/
	$(GO) test -run '^$$' -fuzz FuzzParseHostFacts -fuzztime $(FUZZTIME) ./internal/cluster/

bench: ## run the benchmarks in bench/ and print their figures
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...

deps: ## install what the tests need (idempotent)
	./scripts/test-deps.sh

clean: ## remove build output
	rm -rf bin
