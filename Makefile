# storagegate: `make run` starts the bundle locally, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/storagegate/storagegate/shared/app.Version=$(VERSION)
BIN      := bin
FUZZTIME ?= 15s
LAMBDAS  := presign cleanup sweep
ARCHES   := amd64 arm64

.PHONY: help run build package lambda gcp-source azure-package test lint fmt vet staticcheck terraform-check tools fuzz bench bench-cleanup clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: $(BIN)/storagegate ## serve locally: the embedded demo, or $$STORAGEGATE_CONFIG(_FILE) when set
	@if [ -n "$${STORAGEGATE_CONFIG:-}$${STORAGEGATE_CONFIG_FILE:-}" ]; then \
		exec $(BIN)/storagegate serve; \
	else \
		exec $(BIN)/storagegate serve --demo; \
	fi

build: $(BIN)/storagegate lambda gcp-source azure-package ## build the local binary and every deployable artifact

# The zips Terraform deploys (terraform/), byte-identical for the same commit:
# entries sorted, every timestamp the commit's, modes normalised (scripts/zipdir.go).
PACKAGE           := $(BIN)/package
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 315532800)

package: lambda gcp-source azure-package ## the deployable zips in bin/package: Lambda (arm64, amd64), Cloud Functions source, Azure app
	rm -rf $(PACKAGE) && mkdir -p $(PACKAGE)
	$(GO) build -o $(BIN)/zipdir scripts/zipdir.go
	for f in $(LAMBDAS); do for a in $(ARCHES); do \
		SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BIN)/zipdir -o $(PACKAGE)/$$f-lambda-$$a.zip $(BIN)/lambda/$$f-$$a; done; done
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BIN)/zipdir -o $(PACKAGE)/gcp-source.zip $(BIN)/gcp/source
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BIN)/zipdir -o $(PACKAGE)/azure-app.zip $(BIN)/azure/app
	@ls -l $(PACKAGE)

# Static, like the cloud builds: it runs on any Linux (a scratch image too),
# and without libc mapped its resident set is about 2 MB smaller.
$(BIN)/storagegate: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./functions/local

# Lambda (provided.al2023): a static binary named bootstrap, per architecture.
lambda: $(foreach f,$(LAMBDAS),$(foreach a,$(ARCHES),$(BIN)/lambda/$(f)-$(a)/bootstrap)) ## build bootstrap for amd64 and arm64

$(BIN)/lambda/%/bootstrap: FORCE
	fn=$*; CGO_ENABLED=0 GOOS=linux GOARCH=$${fn##*-} $(GO) build -tags lambda.norpc -trimpath \
		-ldflags '$(LDFLAGS)' -o $@ ./functions/aws/$${fn%-*}

gcp-source: ## write the Cloud Functions (gen2) source folder to bin/gcp/source
	scripts/gcp-source.sh $(BIN)/gcp/source

# Azure Functions custom handler: the app folder the host runs (handler,
# host.json, one folder per function), linux/amd64 as on a Linux plan.
azure-package: ## write the Azure Functions app folder to bin/azure/app
	rm -rf $(BIN)/azure/app && mkdir -p $(BIN)/azure/app
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/azure/app/handler ./functions/azure
	cd functions/azure && cp host.json $(abspath $(BIN))/azure/app/ && for f in */function.json; do \
		mkdir -p $(abspath $(BIN))/azure/app/$$(dirname $$f) && cp $$f $(abspath $(BIN))/azure/app/$$f; done

# The first run on a machine builds MinIO (about 5 minutes), tflint (7) and the azurerm Terraform
# provider (about 30, 4.7 GB of memory); every later run reuses them from the cache.
tools: ## install the pinned test servers, linters, Terraform provider and schemas (cached, reused when present)
	scripts/tools.sh install minio azurite fake-gcs-server staticcheck tflint terraform-provider-azurerm provider-schemas

test: tools lint terraform-check ## every test, the ones against real servers included, then the fuzzers briefly
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

terraform-check: package ## terraform fmt, tflint, and validate + test against the real azurerm provider, offline
	scripts/terraform-check.sh

lint: fmt vet staticcheck ## gofmt, go vet and staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	"$$(scripts/tools.sh path staticcheck)" ./...

fuzz: ## run each fuzz target for FUZZTIME (default 15s)
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./shared/storageurl
	$(GO) test -run='^$$' -fuzz='^FuzzHandler$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./shared/presign

bench: tools ## benchmarks, baseline and candidate interleaved in one run, compared by benchstat
	scripts/bench.sh

bench-cleanup: ## delete 10,000 objects in MinIO next to rclone purge, and 100,000 for peak RSS
	scripts/bench-cleanup.sh

clean:
	rm -rf $(BIN)

FORCE:
