package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/issuer"
)

// issuerTenantFile is one issuing agency in the --tenants file of
// `ssi issuer`: its DID, the DID URL of its signing key, the key sealed
// under the KEK, and which of the built-in credential configurations it
// issues ("vaccination-pass", "benefits-eligibility").
type issuerTenantFile struct {
	ID             string   `json:"id"`
	DID            string   `json:"did"`
	KeyID          string   `json:"key_id"`
	KeyFile        string   `json:"key_file"`
	Configurations []string `json:"configurations"`
}

// builtinConfigs are the credential configurations ssi ships.
func builtinConfigs() map[string]issuer.CredentialConfig {
	h, b := issuer.DevConfigs(VaccinationVCT, BenefitsVCT)
	out := map[string]issuer.CredentialConfig{}
	for _, c := range append(h, b...) {
		out[c.ID] = c
	}
	return out
}

// loadIssuerTenants opens each tenant's sealed key under kek.
func loadIssuerTenants(files []issuerTenantFile, kek keys.KEK) ([]issuer.Tenant, error) {
	builtin := builtinConfigs()
	var out []issuer.Tenant
	for _, f := range files {
		s, err := openSealedKey(f.KeyFile, kek, "the signing key of "+f.ID)
		if err != nil {
			return nil, err
		}
		t := issuer.Tenant{ID: f.ID, DID: f.DID, KeyID: f.KeyID, Signer: s}
		for _, name := range f.Configurations {
			c, ok := builtin[name]
			if !ok {
				return nil, fmt.Errorf("tenant %s: unknown credential configuration %q", f.ID, name)
			}
			t.Configs = append(t.Configs, c)
		}
		out = append(out, t)
	}
	return out, nil
}

// devIssuerTenants are the seeded agencies of `ssi dev`: their DIDs from
// dev-credentials.json and their issuing keys under dataDir/keys.
func devIssuerTenants(dataDir string, kek keys.KEK) ([]issuer.Tenant, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "dev-credentials.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the dev seed: %w", err)
	}
	var seed devSeed
	if err := json.Unmarshal(b, &seed); err != nil {
		return nil, fmt.Errorf("reading the dev seed: %w", err)
	}
	var files []issuerTenantFile
	for _, t := range []struct{ id, config string }{{"health", "vaccination-pass"}, {"benefits", "benefits-eligibility"}} {
		d := seed.DIDs[t.id]
		if d == "" {
			return nil, fmt.Errorf("the dev seed has no DID for %s", t.id)
		}
		files = append(files, issuerTenantFile{ID: t.id, DID: d, KeyID: d + "#issuing-1",
			KeyFile: filepath.Join(dataDir, "keys", t.id+"-issuing.key"), Configurations: []string{t.config}})
	}
	return loadIssuerTenants(files, kek)
}

// startIssuer builds the issuer of cfg on st and anc and runs its
// status-list publisher until the returned stop function is called, which
// also closes the issuer (cancelling the database work of credential
// requests still in flight once the server has drained).
func startIssuer(ctx context.Context, st *store.Store, anc issuer.Anchor, cfg issuer.Config) (*issuer.Service, func(), error) {
	cfg.Store, cfg.Anchor = st, anc
	svc, err := issuer.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = svc.Run(pctx)
	}()
	return svc, func() { svc.Close(); cancel(); wg.Wait() }, nil
}

// IssuerRates are the issuer's rate limits, the same for `ssi issuer` and
// `ssi dev` (issuer.Config's RatePerClient, RatePerCode, RateWindow; see
// issuer.DefaultRatePerClient for why the defaults are what they are).
type IssuerRates struct {
	RatePerClient int           `yaml:"rate_per_client" flag:"rate-per-client" usage:"token requests, and apart from them nonce requests, one client address may make per window; 0 turns the per-address limit off"`
	RatePerCode   int           `yaml:"rate_per_code" flag:"rate-per-code" usage:"token requests per pre-authorized code per window (at least 1; each code also dies after 5 tx_code attempts)"`
	RateWindow    time.Duration `yaml:"rate_window" flag:"rate-window" usage:"the rate limits' window, 1s to 1h"`
}

func defaultIssuerRates() IssuerRates {
	return IssuerRates{RatePerClient: issuer.DefaultRatePerClient, RatePerCode: issuer.DefaultRatePerCode, RateWindow: issuer.DefaultRateWindow}
}

func (r IssuerRates) validate() error {
	var p []error
	if r.RatePerClient < 0 {
		p = append(p, fmt.Errorf("rate-per-client: %d is negative (0 turns the limit off)", r.RatePerClient))
	}
	if r.RatePerCode < 1 {
		p = append(p, fmt.Errorf("rate-per-code: %d is below 1 (the per-code limit cannot be turned off)", r.RatePerCode))
	}
	if r.RateWindow < time.Second || r.RateWindow > time.Hour {
		p = append(p, fmt.Errorf("rate-window: %s is outside 1s to 1h", r.RateWindow))
	}
	return errors.Join(p...)
}

// apply sets c's rate limits and the trusted proxies of srv (validated).
func (r IssuerRates) apply(c *issuer.Config, srv config.Server) {
	c.RatePerClient, c.RatePerCode, c.RateWindow = r.RatePerClient, r.RatePerCode, r.RateWindow
	if r.RatePerClient == 0 {
		c.RatePerClient = issuer.RateOff
	}
	c.TrustedProxies, _ = srv.TrustedProxyPrefixes()
}

// devConfig configures `ssi dev`.
type devConfig struct {
	config.Server `yaml:",inline"`
	IssuerRates   `yaml:",inline"`
	VenuePasses   string `yaml:"venue_passes" flag:"venue-passes" usage:"JSON file of the demo venue's trust for EU DCCs and SMART Health Cards and its vaccination rule (docs/passes.md)"`
}

// issuerConfig configures `ssi issuer`.
type issuerConfig struct {
	config.Server `yaml:",inline"`
	LedgerConn    `yaml:",inline"`
	IssuerRates   `yaml:",inline"`
	TenantsFile   string `yaml:"tenants_file" flag:"tenants" usage:"JSON file listing the issuing agencies (id, did, key_id, key_file, configurations)"`
	// RequireDPoP makes every access token DPoP-bound (RFC 9449), as HAIP
	// requires; off, a wallet may still ask for one. `ssi dev` leaves it
	// off.
	RequireDPoP bool `yaml:"require_dpop" flag:"require-dpop" usage:"refuse token requests without a DPoP proof, so that every access token is sender-constrained (RFC 9449, HAIP)"`
	// OfferScheme is the scheme of the offers' links and QR codes.
	OfferScheme string `yaml:"offer_scheme" flag:"offer-scheme" usage:"URI scheme of credential offers: openid-credential-offer (default) or haip (HAIP 1.0)"`
}

// offerSchemes maps the values of --offer-scheme to the issuer's.
var offerSchemes = map[string]string{"": "", "openid-credential-offer": issuer.OfferScheme, "haip": issuer.HAIPOfferScheme}

// service is the issuer.Config of c, for the agencies tenants (the store
// and anchor are startIssuer's).
func (c *issuerConfig) service(tenants []issuer.Tenant, log *slog.Logger) issuer.Config {
	cfg := issuer.Config{PublicURL: c.PublicURL, Tenants: tenants, Now: clock, Logger: log, RequireDPoP: c.RequireDPoP,
		OfferScheme: offerSchemes[c.OfferScheme]}
	c.IssuerRates.apply(&cfg, c.Server)
	return cfg
}

func (c *issuerConfig) validate() error {
	var tenants error
	if c.TenantsFile == "" {
		tenants = errors.New("tenants: the issuer needs the file of its issuing agencies")
	}
	var scheme error
	if _, ok := offerSchemes[c.OfferScheme]; !ok {
		scheme = errors.New("offer-scheme: must be openid-credential-offer or haip")
	}
	resolved := c.Resolve() // reads the KEK file first
	return errors.Join(resolved, c.Validate(), c.RequireHTTPS(), c.LedgerConn.validate(c.KEK), c.IssuerRates.validate(), tenants, scheme)
}

// runIssuer runs the issuer alone, for production: its store (PostgreSQL,
// typically; migrations are applied with `ssi migrate`), the issuing
// agencies of --tenants with their keys sealed under the KEK, and a
// validator of the ledger reached over RPC for anchoring status lists.
func runIssuer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := issuerConfig{Server: config.DefaultServer(), IssuerRates: defaultIssuerRates()}
	var kek keys.KEK
	var tenants []issuer.Tenant
	return serverCommand{name: "issuer", config: &cfg, server: &cfg.Server, validate: cfg.validate,
		// --check-config opens every agency's sealed key.
		prepare: func() (err error) {
			kek, tenants, err = cfg.tenants()
			return err
		},
		build: func(ctx context.Context, s *server) (built, error) {
			ledger, err := cfg.LedgerConn.connect(ctx, s.store, kek, s.log)
			if err != nil {
				return built{}, err
			}
			s.onStop(func() { _ = ledger.stop() })
			icfg := cfg.service(tenants, s.log)
			icfg.Ledger = ledger.health
			iss, stopIssuer, err := startIssuer(ctx, s.store, ledger.anchorer, icfg)
			if err != nil {
				return built{}, err
			}
			s.onStop(stopIssuer)
			return built{services: services{ledger: ledger, issuer: iss},
				summary: fmt.Sprintf(" (%d agencies, ledger chain %s, DPoP %s)", len(tenants), ledger.chainID,
					map[bool]string{true: "required", false: "optional"}[cfg.RequireDPoP])}, nil
		},
	}.run(ctx, args, stdout, stderr)
}

// tenants opens the KEK and, under it, the sealed keys of the agencies of
// the --tenants file.
func (c *issuerConfig) tenants() (keys.KEK, []issuer.Tenant, error) {
	kek, err := keys.ParseKEK(c.KEK)
	if err != nil {
		return keys.KEK{}, nil, fmt.Errorf("loading the key-encryption key: %w", err)
	}
	b, err := os.ReadFile(c.TenantsFile)
	if err != nil {
		return keys.KEK{}, nil, fmt.Errorf("reading the tenants file: %w", err)
	}
	var files []issuerTenantFile
	if err := jsonx.Unmarshal(b, &files, true); err != nil {
		return keys.KEK{}, nil, fmt.Errorf("reading the tenants file: %w", err)
	}
	tenants, err := loadIssuerTenants(files, kek)
	if err != nil {
		return keys.KEK{}, nil, err
	}
	return kek, tenants, nil
}
