package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
)

// The credential types of the demo agencies.
const (
	VaccinationVCT = "urn:ssi:vct:vaccination-pass:1"
	BenefitsVCT    = "urn:ssi:vct:benefits-eligibility:1"
)

// devSeed is what `ssi dev` seeds on a fresh data directory, and what it
// writes (owner-only) to dev-credentials.json so a developer can use it.
type devSeed struct {
	APIKeys  map[string]string `json:"api_keys"` // tenant → key, shown only here
	DIDs     map[string]string `json:"dids"`     // tenant → issuer or verifier DID
	Accredit map[string]string `json:"accreditations"`
	Venue    string            `json:"venue_registration"`
	// Citizen is the demo citizen's wallet login (username, password).
	Citizen map[string]string `json:"demo_citizen,omitempty"`
}

// devKEK returns the configured key-encryption key, or for dev a random
// one kept owner-only in the data directory.
func devKEK(cfgKEK, dataDir string) (keys.KEK, error) {
	if cfgKEK != "" {
		return keys.ParseKEK(cfgKEK)
	}
	path := filepath.Join(dataDir, "kek")
	if b, err := os.ReadFile(path); err == nil {
		return keys.ParseKEK(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return keys.KEK{}, err
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return keys.KEK{}, err
	}
	s := base64.StdEncoding.EncodeToString(k[:])
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return keys.KEK{}, err
	}
	return keys.ParseKEK(s)
}

// newSealedKey generates a key, stores it sealed under kek at
// dataDir/keys/name.key, and returns it.
func newSealedKey(dataDir, name, alg string, kek keys.KEK) (keys.Signer, error) {
	s, err := keys.Generate(alg)
	if err != nil {
		return nil, err
	}
	blob, err := keys.Seal(s, kek)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), blob, 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// seedDev creates the demo world once: a health and a benefits agency with
// issuer DIDs (keys sealed under the KEK) accredited for their credential
// types, a registry operator, and a venue operator with an approved
// verifier registration. On later starts it does nothing and returns nil.
func seedDev(ctx context.Context, dataDir string, kek keys.KEK, st *store.Store, reg *didregistry.Service) (*devSeed, error) {
	if _, err := st.GetTenant(ctx, "health"); err == nil {
		return nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	adm := &admin.Service{Store: st, Now: clock}
	cli := admin.Actor{ID: "dev-seed"}
	seed := &devSeed{APIKeys: map[string]string{}, DIDs: map[string]string{}, Accredit: map[string]string{}}
	tenants := []struct {
		id, name, kind string
		scopes         []string
	}{
		{"health", "Department of Health", "agency", []string{admin.ScopeCredentialsIssue, admin.ScopeCredentialsRevoke, admin.ScopeDIDsManage, admin.ScopeAuditRead, admin.ScopeKeysManage}},
		{"benefits", "Benefits Agency", "agency", []string{admin.ScopeCredentialsIssue, admin.ScopeCredentialsRevoke, admin.ScopeDIDsManage, admin.ScopeAuditRead, admin.ScopeKeysManage}},
		{"registry", "Registry Operator", "registry-operator", []string{admin.ScopeRegistryAdmin, admin.ScopeAuditRead, admin.ScopeKeysManage}},
		{"venue", "City Stadium", "venue-operator", []string{admin.ScopeRPManage, admin.ScopeAuditRead, admin.ScopeKeysManage,
			admin.ScopePresentationsCreate, admin.ScopePresentationsRead}},
	}
	for _, t := range tenants {
		if _, err := adm.CreateTenant(ctx, cli, store.Tenant{ID: t.id, Name: t.name, Kind: t.kind}); err != nil {
			return nil, fmt.Errorf("seeding tenant %s: %w", t.id, err)
		}
		k, _, err := adm.CreateKey(ctx, cli, t.id, t.scopes, nil)
		if err != nil {
			return nil, fmt.Errorf("seeding a key for %s: %w", t.id, err)
		}
		seed.APIKeys[t.id] = k
	}

	now := clock().UTC()
	operator := didregistry.Actor{TenantID: "registry", ID: "dev-seed"}
	for _, ag := range []struct{ id, vct string }{{"health", VaccinationVCT}, {"benefits", BenefitsVCT}} {
		ctl, err := newSealedKey(dataDir, ag.id+"-controller", keys.ES256, kek)
		if err != nil {
			return nil, err
		}
		issuing, err := newSealedKey(dataDir, ag.id+"-issuing", keys.ES256, kek)
		if err != nil {
			return nil, err
		}
		vm, err := didregistry.VMFor("issuing-1", issuing, didregistry.PurposeAssertionMethod)
		if err != nil {
			return nil, err
		}
		tok, _, err := didregistry.SignCreate(ctl, "controller-1", []didregistry.VMInput{vm}, nil)
		if err != nil {
			return nil, err
		}
		st, err := reg.CreateDID(ctx, didregistry.Actor{TenantID: ag.id, ID: "dev-seed"}, tok)
		if err != nil {
			return nil, fmt.Errorf("seeding the DID of %s: %w", ag.id, err)
		}
		seed.DIDs[ag.id] = st.DID
		acc, err := reg.Accredit(ctx, operator, st.DID, []string{ag.vct}, now.Add(-time.Minute), now.AddDate(1, 0, 0))
		if err != nil {
			return nil, fmt.Errorf("seeding the accreditation of %s: %w", ag.id, err)
		}
		seed.Accredit[ag.id] = acc.ID
	}

	venueKey, err := newSealedKey(dataDir, "venue-verifier", keys.EdDSA, kek)
	if err != nil {
		return nil, err
	}
	venueDID, err := did.KeyDID(venueKey.Public())
	if err != nil {
		return nil, err
	}
	seed.DIDs["venue"] = venueDID
	// The venue proves control of its DID: it signs the registry's
	// challenge with the DID's key, as a venue operator does over HTTP.
	venue := didregistry.Actor{TenantID: "venue", ID: "dev-seed"}
	ch, err := reg.NewRPChallenge(ctx, venue, venueDID)
	if err != nil {
		return nil, fmt.Errorf("asking for the venue's control challenge: %w", err)
	}
	proof, err := didregistry.SignRPControl(venueKey, venueDID+"#"+strings.TrimPrefix(venueDID, "did:key:"), *ch, clock())
	if err != nil {
		return nil, fmt.Errorf("signing the venue's control proof: %w", err)
	}
	rp, err := reg.RegisterRP(ctx, venue, venueDID, "City Stadium entrance",
		[]didregistry.RPCredential{{VCT: VaccinationVCT, Claims: []string{"vaccinated_within_policy", "given_name", "family_name", "birth_date"},
			Purpose: "admission under the public health order, with a photo-ID check", RetentionDays: 0}}, proof)
	if err != nil {
		return nil, fmt.Errorf("seeding the venue registration: %w", err)
	}
	if _, err := reg.DecideRP(ctx, operator, rp.ID, "approve", "demo venue"); err != nil {
		return nil, fmt.Errorf("approving the venue registration: %w", err)
	}
	seed.Venue = rp.ID

	b, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "dev-credentials.json"), append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	return seed, nil
}
