# The README's test command is `make test`; .ci/run calls exactly that.
GO ?= go
STATICCHECK_VERSION := v0.7.0

.PHONY: test tidy vet staticcheck wasm venue-wasm vulncheck build bench
test: tidy vet staticcheck wasm venue-wasm
	$(GO) test -race -timeout 20m ./...

# tidy fails when go mod tidy would change go.mod or go.sum, and prints
# the diff; run `go mod tidy` and commit the result.
tidy:
	@$(GO) mod tidy -diff || { echo 'go.mod or go.sum is not tidy: run go mod tidy' >&2; exit 1; }

vet:
	$(GO) vet ./...

# staticcheck runs from the module proxy at a pinned version, so a fresh
# machine needs nothing installed beyond Go.
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# vulncheck runs govulncheck against the Go vulnerability database taken
# from the module proxy (no network beyond it); see docs/vulnerabilities.md.
vulncheck:
	GO=$(GO) ./scripts/vulncheck

# wasm builds the packages the venue page runs in the browser: the
# offline QR envelope, the trust bundle's offline check and the ledger
# proofs under it, with no build tag (internal/trust checks CometBFT
# headers without CometBFT's curve25519-voi, which would need one).
wasm:
	GOOS=js GOARCH=wasm $(GO) build ./internal/qr ./internal/bundle ./internal/trust

# venue-wasm builds the venue scanner's offline verifier (cmd/venue-wasm)
# into the page's folder, where go:embed takes it into the next build of
# ssi; without it the scanner checks online only. The loader beside it,
# web/static/vendor/go-wasm/wasm_exec.js, must come from the same Go.
venue-wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o web/static/venue/venue.wasm ./cmd/venue-wasm

build:
	CGO_ENABLED=0 $(GO) build -o ssi ./cmd/ssi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
