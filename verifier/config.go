package verifier

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/passcheck"
)

// Config is what New needs.
type Config struct {
	Store Store
	Trust Trust
	// KEK seals the transactions' ephemeral encryption keys and the shown
	// claims until the venue fetches them.
	KEK keys.KEK
	// PublicURL is the verifier's base URL, as wallets reach it.
	PublicURL string
	Venues    []Venue
	Now       func() time.Time
	Logger    *slog.Logger
	// TransactionTTL is how long a transaction waits for its wallet; 0
	// means 5 minutes, at most 10 (the nonce lives as long).
	TransactionTTL time.Duration
	// Skew is the clock skew allowed on exp/nbf/iat, at most 60 s.
	Skew time.Duration
	// KBMaxAge is how old a KB-JWT iat may be; 0 means 300 s.
	KBMaxAge time.Duration
	// MaxWait caps ?wait=N of the poll; 0 means 30 s.
	MaxWait time.Duration
	// Keep is how long a finished transaction's verdict record (verdict,
	// reasons, claim names, issuer, vct, times) is kept for the venue; 0
	// means 30 days. Claim values are never kept (see Get).
	Keep time.Duration
	// Bundle, when set, lets the verifier build trust bundles for its
	// offline venues (TrustBundle).
	Bundle *BundleConfig
	// CommitGroup is the most verdicts written in one statement (group
	// commit of concurrent responses); 0 means 64, 1 or less writes each
	// alone. CommitWorkers is how many groups are written at once; 0
	// means 2.
	CommitGroup, CommitWorkers int
	// DeferRegistrationCheck leaves the registration check to
	// WaitRegistrations, for a verifier whose registry is not serving yet.
	DeferRegistrationCheck bool
}

// Venue is a venue-operator tenant's verifier identity.
type Venue struct {
	TenantID string
	// DID is the verifier DID registered (and approved) in the
	// relying-party registry; the client_id is ClientIDPrefixDID + DID.
	DID string
	// Signer signs the request objects; KeyID is its DID URL.
	Signer   keys.Signer
	KeyID    string
	Policies []Policy
	// Passes is the venue's trust for the passes of other systems, EU
	// DCCs (HC1:) and SMART Health Cards (shc:/), which POST
	// /verifier/v1/offline checks with internal/passcheck (load it with
	// passcheck.TrustSources.Load, whose files the offline trust bundle
	// carries to the venue page); nil refuses them
	// (unsupported_pass_format).
	Passes *passcheck.TrustSet
}

// ClientID is the venue's full client_id, with its prefix.
func (v *Venue) ClientID() string { return oid4vp.ClientIDPrefixDID + v.DID }

// Policy is one thing a venue checks at its door.
type Policy struct {
	Name string
	// Description says in a sentence what the policy admits, for the
	// venue's staff choosing it (GET /verifier/v1/policies); optional.
	Description string
	// DCQL is the query sent to the wallet, as JSON.
	DCQL json.RawMessage
	// VCTs are the accepted credential types; every vct of the query must
	// be one, and a presentation of another is red.
	VCTs []string
	// Issuers, when not empty, narrows the accredited issuers accepted
	// (DIDs); accreditation is checked in any case.
	Issuers []string
	// Rule is the decision: conditions `claim == literal` joined by &&,
	// a literal being true, false, an integer or a "string"; for the demo
	// venue `vaccinated_within_policy == true`.
	Rule string
	// Show are the claim names returned to the venue (e.g. given_name
	// for the photo-ID check); nothing else is shown.
	Show []string
	// Vaccination is this policy's rule for EU DCCs and SMART Health Cards
	// (internal/passcheck: a dose of an accepted product within a window);
	// nil checks only that such a pass is genuine and valid.
	Vaccination *passcheck.Policy

	query *dcql.Query
	conds []bundle.Condition
}

// compile parses the policy's query and rule and checks that they agree:
// the query asks only for dc+sd-jwt of accepted vcts, and every claim the
// rule reads or the venue is shown is requested.
func (p *Policy) compile() error {
	if p.Name == "" {
		return fmt.Errorf("a policy needs a name")
	}
	q, err := dcql.Parse(p.DCQL)
	if err != nil {
		return fmt.Errorf("policy %s: DCQL: %w", p.Name, err)
	}
	if err := q.CheckFormats(oid4vp.FormatSDJWTVC); err != nil {
		return fmt.Errorf("policy %s: %w", p.Name, err)
	}
	if len(p.VCTs) == 0 {
		return fmt.Errorf("policy %s: no accepted vct", p.Name)
	}
	requested := map[string]bool{}
	for _, cq := range q.Credentials {
		if len(cq.VCTValues) == 0 {
			return fmt.Errorf("policy %s: credential query %s names no vct", p.Name, cq.ID)
		}
		for _, v := range cq.VCTValues {
			if !slices.Contains(p.VCTs, v) {
				return fmt.Errorf("policy %s: the query asks for vct %s, which the policy does not accept", p.Name, v)
			}
		}
		for _, c := range cq.Claims {
			requested[c.Path.Name()] = true
		}
	}
	if p.conds, err = bundle.ParseRule(p.Rule); err != nil {
		return fmt.Errorf("policy %s: %w", p.Name, err)
	}
	for _, c := range p.conds {
		if !requested[c.Claim] {
			return fmt.Errorf("policy %s: the rule reads %s, which the query does not request", p.Name, c.Claim)
		}
	}
	for _, s := range p.Show {
		if !requested[s] {
			return fmt.Errorf("policy %s: it shows %s, which the query does not request", p.Name, s)
		}
	}
	p.query = q
	return nil
}

// claimNames returns, per vct, the claim names the policy's query requests:
// what CheckRP compares with the registration.
func (p *Policy) claimNames() map[string][]string {
	out := map[string][]string{}
	for _, cq := range p.query.Credentials {
		var names []string
		for _, c := range cq.Claims {
			names = append(names, c.Path.Name())
		}
		for _, v := range cq.VCTValues {
			for _, n := range names {
				if !slices.Contains(out[v], n) {
					out[v] = append(out[v], n)
				}
			}
		}
	}
	return out
}
