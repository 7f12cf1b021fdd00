package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/verifier"
)

// verifierVenueFile is one venue in the --venues file of `ssi verifier`:
// its venue-operator tenant, its registered verifier DID, the DID URL of
// its signing key, the key sealed under the KEK, and its policies.
type verifierVenueFile struct {
	ID       string               `json:"id"`
	DID      string               `json:"did"`
	KeyID    string               `json:"key_id"`
	KeyFile  string               `json:"key_file"`
	Policies []verifierPolicyFile `json:"policies"`
	// Passes is the venue's trust for EU DCCs and SMART Health Cards
	// shown at POST /verifier/v1/offline (docs/passes.md); none: refused.
	Passes *passTrustFile `json:"passes,omitempty"`
}

// verifierPolicyFile is a verifier.Policy as configured.
type verifierPolicyFile struct {
	Name string `json:"name"`
	// Description says what the policy admits, for the venue's staff
	// (GET /verifier/v1/policies, the scanner's policy select).
	Description string          `json:"description,omitempty"`
	DCQL        json.RawMessage `json:"dcql_query"`
	VCTs        []string        `json:"vcts"`
	Issuers     []string        `json:"issuers,omitempty"`
	Rule        string          `json:"rule"`
	Show        []string        `json:"show,omitempty"`
	// Vaccination is the rule for EU DCCs and SMART Health Cards
	// (passcheck.ParsePolicy); none: they need only be genuine.
	Vaccination json.RawMessage `json:"vaccination,omitempty"`
}

func (p verifierPolicyFile) policy() verifier.Policy {
	return verifier.Policy{Name: p.Name, Description: p.Description, DCQL: p.DCQL, VCTs: p.VCTs, Issuers: p.Issuers, Rule: p.Rule, Show: p.Show}
}

// entryPolicy is the demo venue's door policy: a vaccination pass whose
// vaccinated_within_policy is true, with the name and birth date shown
// for the photo-ID check.
func entryPolicy() verifierPolicyFile {
	return verifierPolicyFile{
		Name:        "entry",
		Description: "Admission under the public health order: a vaccination pass within the policy, with the name and birth date for the photo-ID check.",
		DCQL: json.RawMessage(`{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["` + VaccinationVCT + `"]},` +
			`"claims":[{"path":["vaccinated_within_policy"]},{"path":["given_name"]},{"path":["family_name"]},{"path":["birth_date"]}]}]}`),
		VCTs: []string{VaccinationVCT},
		Rule: "vaccinated_within_policy == true",
		Show: []string{"given_name", "family_name", "birth_date"},
	}
}

// devVenuePasses is the --venue-passes file of `ssi dev`: the demo
// venue's pass trust files (as in a --venues file) and the vaccination
// rule of its entry policy.
type devVenuePasses struct {
	passTrustFile `json:",inline"`
	Vaccination   json.RawMessage `json:"vaccination,omitempty"`
}

func loadDevVenuePasses(name string, v *verifier.Venue) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading the venue's passes file: %w", err)
	}
	var f devVenuePasses
	if err := jsonx.Unmarshal(b, &f, true); err != nil {
		return fmt.Errorf("reading the venue's passes file: %w", err)
	}
	t, err := f.load()
	if err != nil {
		return fmt.Errorf("venue-passes: %w", err)
	}
	v.Passes = &t
	if len(f.Vaccination) > 0 {
		if v.Policies[0].Vaccination, err = passcheck.ParsePolicy(f.Vaccination); err != nil {
			return fmt.Errorf("venue-passes: %w", err)
		}
	}
	return nil
}

// openSealedKey reads the key sealed under kek at path; what names it in
// errors.
func openSealedKey(path string, kek keys.KEK, what string) (keys.Signer, error) {
	blob, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	s, err := keys.Open(blob, kek)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", what, err)
	}
	return s, nil
}

// loadVenues opens each venue's sealed key under kek.
func loadVenues(files []verifierVenueFile, kek keys.KEK) ([]verifier.Venue, error) {
	var out []verifier.Venue
	for _, f := range files {
		s, err := openSealedKey(f.KeyFile, kek, "the signing key of venue "+f.ID)
		if err != nil {
			return nil, err
		}
		v := verifier.Venue{TenantID: f.ID, DID: f.DID, KeyID: f.KeyID, Signer: s}
		for _, p := range f.Policies {
			pol := p.policy()
			if len(p.Vaccination) > 0 {
				if pol.Vaccination, err = passcheck.ParsePolicy(p.Vaccination); err != nil {
					return nil, fmt.Errorf("venue %s, policy %s: %w", f.ID, p.Name, err)
				}
			}
			v.Policies = append(v.Policies, pol)
		}
		if f.Passes != nil {
			t, err := f.Passes.load()
			if err != nil {
				return nil, fmt.Errorf("venue %s, passes: %w", f.ID, err)
			}
			v.Passes = &t
		}
		out = append(out, v)
	}
	return out, nil
}

// verifierConfig configures `ssi verifier`.
type verifierConfig struct {
	config.Server `yaml:",inline"`
	VenuesFile    string   `yaml:"venues_file" flag:"venues" usage:"JSON file listing the venues (id, did, key_id, key_file, policies)"`
	RegistryURL   string   `yaml:"registry_url" flag:"registry-url" usage:"public URL of the DID and trust registries"`
	TrustFile     string   `yaml:"trust_file" flag:"trust-file" usage:"the pinned validator set of the ledger (JSON, trust.MarshalTrust), or its CometBFT genesis.json"`
	StatusIndexes []string `yaml:"status_indexes" flag:"status-indexes" usage:"comma-separated status-list index URLs of the issuer services (https://issuer.example/status): the offline trust bundle carries every current list of the policies' issuers they name"`
}

func (c *verifierConfig) validate() error {
	resolved := c.Resolve() // reads the KEK file first
	var p []error
	if c.KEK == "" {
		p = append(p, errors.New("kek: the verifier needs the key-encryption key its venues' keys are sealed under (--kek or --kek-file)"))
	}
	if c.VenuesFile == "" {
		p = append(p, errors.New("venues: the verifier needs the file of its venues"))
	}
	if c.RegistryURL == "" {
		p = append(p, errors.New("registry-url: the verifier needs the registry's URL"))
	}
	if c.TrustFile == "" {
		p = append(p, errors.New("trust-file: the verifier needs the ledger's pinned validators"))
	}
	return errors.Join(append(p, resolved, c.Validate(), c.RequireHTTPS())...)
}

// load opens the KEK, the venues' keys and the pinned validators.
func (c *verifierConfig) load() (keys.KEK, []verifier.Venue, trust.Trust, error) {
	kek, err := keys.ParseKEK(c.KEK)
	if err != nil {
		return keys.KEK{}, nil, trust.Trust{}, fmt.Errorf("loading the key-encryption key: %w", err)
	}
	b, err := os.ReadFile(c.VenuesFile)
	if err != nil {
		return keys.KEK{}, nil, trust.Trust{}, fmt.Errorf("reading the venues file: %w", err)
	}
	var files []verifierVenueFile
	if err := jsonx.Unmarshal(b, &files, true); err != nil {
		return keys.KEK{}, nil, trust.Trust{}, fmt.Errorf("reading the venues file: %w", err)
	}
	venues, err := loadVenues(files, kek)
	if err != nil {
		return keys.KEK{}, nil, trust.Trust{}, err
	}
	var pinned trust.Trust
	if strings.HasSuffix(c.TrustFile, "genesis.json") {
		pinned, err = trust.TrustFromGenesis(c.TrustFile)
	} else {
		pinned, err = trust.ReadTrust(c.TrustFile)
	}
	if err != nil {
		return keys.KEK{}, nil, trust.Trust{}, fmt.Errorf("reading the pinned validators: %w", err)
	}
	return kek, venues, pinned, nil
}

// runVerifier runs the verifier alone, for production: its store
// (PostgreSQL, typically; migrations are applied with `ssi migrate`), the
// venues of --venues with their keys sealed under the KEK, and the trust
// layer reaching the registry at --registry-url and believing only the
// validators of --trust-file. A policy that asks for more than its venue's
// registration allows stops the start-up.
func runVerifier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := verifierConfig{Server: config.DefaultServer()}
	var (
		kek    keys.KEK
		venues []verifier.Venue
		pinned trust.Trust
	)
	return serverCommand{name: "verifier", config: &cfg, server: &cfg.Server, validate: cfg.validate,
		prepare: func() (err error) {
			kek, venues, pinned, err = cfg.load()
			return err
		},
		build: func(ctx context.Context, s *server) (built, error) {
			tc := trust.NewClient(cfg.RegistryURL, trust.Options{Trust: pinned, Now: clock})
			svc, err := verifier.New(ctx, verifier.Config{Store: s.store, Trust: verifier.TrustClient(tc), KEK: kek,
				PublicURL: cfg.PublicURL, Venues: venues, Now: clock, Logger: s.log, Skew: verifierSkew,
				Bundle: &verifier.BundleConfig{RegistryURL: cfg.RegistryURL, Pinned: pinned, StatusIndexes: cfg.StatusIndexes}})
			if err != nil {
				return built{}, err
			}
			rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			var wg sync.WaitGroup
			wg.Go(func() { _ = svc.Run(rctx) })
			s.onStop(func() { cancel(); wg.Wait() })
			gc := ""
			if tuneGC(verifierGCPercent) {
				gc = fmt.Sprintf(", GOGC %d", verifierGCPercent)
			}
			return built{services: services{verifier: svc}, summary: fmt.Sprintf(" (%d venues, registry %s%s)", len(venues), cfg.RegistryURL, gc)}, nil
		},
	}.run(ctx, args, stdout, stderr)
}

// verifierGCPercent is the garbage collector's target of `ssi verifier`
// when the environment sets no GOGC. A verifier keeps little alive (the
// pending transactions, the trust cache: tens of MB) and allocates about
// 40 KB per response, so at Go's default of 100 it collects many times a
// second; at 400 the heap may grow to five times what is alive, and the
// verifier's CPU per presentation fell by about a quarter under load
// (BENCHMARKS.md).
const verifierGCPercent = 400

// verifierSkew is the clock difference the verifier allows on a
// credential's exp, nbf and iat (verifier.Config.Skew; at most 60 s): an
// issuer whose clock runs a few seconds ahead of the venue's must not make
// its fresh passes not_yet_valid. The KB-JWT's freshness window is its own
// (KBMaxAge, and 60 s into the future).
const verifierSkew = 30 * time.Second

// tuneGC sets the garbage collector's target to percent unless GOGC is
// set in the environment (the operator's choice stands), and reports
// whether it did.
func tuneGC(percent int) bool {
	if os.Getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(percent)
	return true
}

// startDevVerifier is the demo venue of `ssi dev`: the seeded venue
// tenant with its did:key verifier DID and the entry policy, trusting the
// in-process ledger's validators and reaching the registry and the
// issuers' status lists at the server's own URL. Its registration is
// checked once the server serves it and it is anchored; until then the
// verifier refuses transactions (verifier_not_ready).
//
// passesFile, when set, is a devVenuePasses file: the venue's trust for
// EU DCCs and SMART Health Cards and the entry policy's vaccination rule.
func startDevVerifier(ctx context.Context, s *server, dataDir string, kek keys.KEK, pinned trust.Trust, passesFile string) (*verifier.Service, func(), error) {
	signer, err := openSealedKey(filepath.Join(dataDir, "keys", "venue-verifier.key"), kek, "the venue's key")
	if err != nil {
		return nil, nil, err
	}
	d, err := did.KeyDID(signer.Public())
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "dev-credentials.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the dev seed: %w", err)
	}
	var seed devSeed
	if err := json.Unmarshal(b, &seed); err != nil {
		return nil, nil, fmt.Errorf("reading the dev seed: %w", err)
	}
	// The demo venue takes the health agency's passes, and its trust
	// bundle carries that agency.
	policy := entryPolicy().policy()
	policy.Issuers = []string{seed.DIDs["health"]}
	venue := verifier.Venue{TenantID: "venue", DID: d, KeyID: d + "#" + strings.TrimPrefix(d, "did:key:"), Signer: signer,
		Policies: []verifier.Policy{policy}}
	if passesFile != "" {
		if err := loadDevVenuePasses(passesFile, &venue); err != nil {
			return nil, nil, err
		}
	}
	// A short cache, so that a revocation shows within about a second of
	// its list being published.
	// Its requests go to this same server: without keep-alive, no idle or
	// half-made connection of its own is left for the server's drain to
	// wait on at shutdown.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tc := trust.NewClient(s.cfg.PublicURL, trust.Options{Trust: pinned, Now: clock, TTL: time.Second, HTTP: hc})
	svc, err := verifier.New(ctx, verifier.Config{Store: s.store, Trust: verifier.TrustClient(tc), KEK: kek,
		PublicURL: s.cfg.PublicURL, Venues: []verifier.Venue{venue}, Now: clock, Logger: s.log, DeferRegistrationCheck: true, Skew: verifierSkew,
		Bundle: &verifier.BundleConfig{RegistryURL: s.cfg.PublicURL, Pinned: pinned, HTTP: hc, StatusIndexes: []string{s.cfg.PublicURL + "/status"}}})
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = svc.WaitRegistrations(wctx, 200*time.Millisecond) })
	wg.Go(func() { _ = svc.Run(wctx) })
	return svc, func() { cancel(); wg.Wait() }, nil
}
