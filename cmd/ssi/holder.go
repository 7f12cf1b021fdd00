package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// newHolder builds the citizen wallet backend. Its trust client reads the
// registry at registryURL and checks every answer against pins. dev lets
// its OpenID4VCI client reach issuers on loopback, over plain HTTP when
// the server itself is (all of `ssi dev` runs there); production refuses
// both. Status comes from the trust client's anchored status lists.
// Tests may change the configuration with opts.
func newHolder(cfg config.Server, st *store.Store, kek keys.KEK, pins trust.Trust, registryURL string, dev bool, log *slog.Logger, opts ...func(*holder.Config)) (*holder.Service, error) {
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	o := trust.Options{Trust: pins, Now: clock}
	if dev {
		// A demo shows a revocation within a second or two.
		o.TTL = time.Second
	}
	tc := trust.NewClient(registryURL, o)
	status := func(ctx context.Context, issuer, uri string, idx int) (uint8, error) {
		r, err := tc.Status(ctx, issuer, uri, idx)
		return r.Value, err
	}
	hc := holder.Config{
		Store: st, KEK: kek, Now: clock, Logger: log, TrustedProxies: proxies,
		Trust: tc, Status: status,
		Wallet: oid4vci.Options{AllowLoopback: dev, AllowHTTP: dev && !strings.HasPrefix(cfg.PublicURL, "https://")},
	}
	for _, o := range opts {
		o(&hc)
	}
	return holder.New(hc)
}

// holderGCPercent is the garbage collector's target of `ssi holder` when
// the environment sets no GOGC, as verifierGCPercent is the verifier's:
// the holder keeps little alive (its pools, sessions cached for a second)
// and allocates tens of KB per presentation, so at Go's default the
// collector took about a tenth of its CPU in the load test's profile.
const holderGCPercent = 400

// holderConfig is `ssi holder`'s configuration.
type holderConfig struct {
	config.Server `yaml:",inline"`
	RegistryURL   string `yaml:"registry_url" flag:"registry-url" usage:"public URL of the DID and trust registries"`
	TrustFile     string `yaml:"trust_file" flag:"trust-file" usage:"the pinned validator set of the ledger (JSON, trust.MarshalTrust), or its CometBFT genesis.json"`
}

func (c *holderConfig) validate() error {
	var p []error
	if c.RegistryURL == "" {
		p = append(p, errors.New("registry-url: the holder needs the registry's URL"))
	}
	if c.TrustFile == "" {
		p = append(p, errors.New("trust-file: the holder needs the ledger's pinned validators"))
	}
	resolved := c.Resolve() // reads the KEK file first
	return errors.Join(append(p, resolved, c.Validate(), c.RequireHTTPS())...)
}

// readPinned reads the ledger's pinned validators: a trust file, or a
// CometBFT genesis.json.
func readPinned(path string) (trust.Trust, error) {
	if strings.HasSuffix(path, "genesis.json") {
		return trust.TrustFromGenesis(path)
	}
	return trust.ReadTrust(path)
}

// runHolder runs the citizen wallet backend alone, on the configured
// store, checking issuers and verifiers against the registry at
// --registry-url and the validators of --trust-file. Its OpenID4VCI and
// OpenID4VP client reaches only public addresses over HTTPS.
func runHolder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := holderConfig{Server: config.DefaultServer()}
	var (
		kek    keys.KEK
		pinned trust.Trust
	)
	return serverCommand{name: "holder", config: &cfg, server: &cfg.Server, validate: cfg.validate,
		prepare: func() (err error) {
			if kek, err = keys.ParseKEK(cfg.KEK); err != nil {
				return fmt.Errorf("loading the key-encryption key: %w", err)
			}
			if pinned, err = readPinned(cfg.TrustFile); err != nil {
				return fmt.Errorf("reading the pinned validators: %w", err)
			}
			return nil
		},
		build: func(ctx context.Context, s *server) (built, error) {
			svc, err := newHolder(cfg.Server, s.store, kek, pinned, cfg.RegistryURL, false, s.log)
			if err != nil {
				return built{}, err
			}
			s.onStop(startPurge(ctx, svc))
			gc := ""
			if tuneGC(holderGCPercent) {
				gc = fmt.Sprintf(", GOGC %d", holderGCPercent)
			}
			return built{services: services{holder: svc}, summary: " (registry " + cfg.RegistryURL + gc + ")"}, nil
		},
	}.run(ctx, args, stdout, stderr)
}

// seedDemoCitizen creates `ssi dev`'s demo citizen, with a random
// password, and adds its login to dev-credentials.json (owner-only, like
// the demo API keys).
func seedDemoCitizen(ctx context.Context, dataDir string, hld *holder.Service, seed *devSeed) error {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	pw := base64.RawURLEncoding.EncodeToString(b[:])
	if _, err := hld.SignUp(ctx, "demo-citizen", pw); err != nil {
		return fmt.Errorf("seeding the demo citizen: %w", err)
	}
	seed.Citizen = map[string]string{"username": "demo-citizen", "password": pw}
	out, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, "dev-credentials.json"), append(out, '\n'), 0o600)
}

// startPurge runs the holder's purge loop until the returned function is
// called, which waits for it to end.
func startPurge(ctx context.Context, h *holder.Service) func() {
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(pctx) })
	return func() { cancel(); wg.Wait() }
}
