# The README's test command is `make test`; .ci/run calls exactly that.
GO ?= go
STATICCHECK_VERSION := v0.7.0

.PHONY: test vet staticcheck build bench
test: vet staticcheck
	$(GO) test -race -timeout 20m ./...

vet:
	$(GO) vet ./...

# staticcheck runs from the module proxy at a pinned version, so a fresh
# machine needs nothing installed beyond Go.
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	CGO_ENABLED=0 $(GO) build -o ssi ./cmd/ssi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
