package bundle

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/trust"
)

// Verdict is the offline check's answer, the verifier's verdict document.
type Verdict struct {
	Verdict    string         `json:"verdict"` // green or red
	Reasons    []string       `json:"reasons,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	ClaimNames []string       `json:"claim_names,omitempty"`
	Issuer     string         `json:"issuer,omitempty"`
	VCT        string         `json:"vct,omitempty"`
}

func redVerdict(err error) *Verdict { return &Verdict{Verdict: "red", Reasons: []string{Code(err)}} }

// Nonces is the venue's memory of the offline nonces it accepted.
type Nonces interface {
	// Use records nonce until `until` and reports false when it is
	// already recorded (a replay).
	Use(nonce string, until, now time.Time) bool
}

// MemoryNonces is a Nonces in memory, for one scanner (a venue with
// several shares one memory, docs/offline-qr.md §9).
type MemoryNonces struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// Use implements Nonces, dropping the entries that expired.
func (m *MemoryNonces) Use(nonce string, until, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	for n, u := range m.seen {
		if !now.Before(u) {
			delete(m.seen, n)
		}
	}
	if _, ok := m.seen[nonce]; ok {
		return false
	}
	m.seen[nonce] = until
	return true
}

// Check judges a holder-shown QR code (SSI1 envelope) at now with the
// bundle alone, in the order of the online check: the bundle's age
// (bundle_too_old past IssuedAt + MaxAge); the envelope (its qr_* codes);
// the issuer in the bundle (issuer_unknown) and the key named by kid in
// its document (issuer_key_not_valid_at_iat); its accreditation for the
// vct at iat from the bundle's records (untrusted_issuer); the SD-JWT
// (sdjwt's codes) with a KB-JWT by the offline rules (aud "offline:" +
// the venue's DID, a wallet nonce, a fresh iat, the nonce used once);
// the status from the bundle's list (status_list_not_in_bundle,
// status_list_expired past the token's exp, revoked, suspended); then the
// policy (the vct, the disclosed claims, the rule: policy_not_met).
//
// The issuer's document is the one current when the bundle was made: a
// key rotated out since iat but before the bundle is refused, one rotated
// after the bundle is not yet known. Nothing here opens a connection.
func (v *Verified) Check(text string, now time.Time, nonces Nonces) *Verdict {
	b := v.Bundle
	if now.Sub(b.IssuedAt) > time.Duration(b.MaxAge)*time.Second {
		return redVerdict(ErrBundleTooOld)
	}
	pres, err := qr.DecodeEnvelope(strings.TrimRight(text, "\r\n"))
	if err != nil {
		return redVerdict(err)
	}
	parts, err := sdjwt.Split(pres, 0)
	if err != nil {
		return redVerdict(err)
	}
	if parts.KBJWT == "" {
		return redVerdict(sdjwt.ErrKBRequired)
	}
	j, err := jose.ParseUnverified(parts.IssuerJWT, 0)
	if err != nil {
		return redVerdict(err)
	}
	c, err := j.Claims()
	if err != nil {
		return redVerdict(err)
	}
	iss, _, _ := c.String("iss")
	vct, _, _ := c.String("vct")
	iat, ok, err := c.NumericDate("iat")
	if err != nil || !ok {
		return redVerdict(jose.ErrInvalidClaim.With("the credential has no iat", nil))
	}
	doc, ok := v.docs[iss]
	if !ok {
		return redVerdict(ErrIssuerUnknown)
	}
	if !strings.HasPrefix(j.Header.Kid, iss+"#") {
		return redVerdict(ErrIssuerKeyNotValid)
	}
	pub, alg, err := doc.PublicKey(j.Header.Kid, did.AssertionMethod)
	if err != nil {
		return redVerdict(ErrIssuerKeyNotValid.With("", err))
	}
	if d := trust.AccreditedAt(v.accs, iss, vct, iat.Add(time.Second-time.Nanosecond)); !d.Accredited {
		if d.Status == trust.StatusOutsideValidity {
			return redVerdict(ErrAccreditationExpired)
		}
		return redVerdict(ErrUntrustedIssuer)
	}
	sv := sdjwt.Verifier{
		IssuerKey: func(string, *jose.Header) (jose.PublicKey, error) { return jose.PublicKey{Key: pub, Alg: alg}, nil },
		Profile:   sdjwt.ProfileSDJWTVC,
		Now:       func() time.Time { return now },
	}
	res, err := sv.Verify(pres, sdjwt.Options{Audience: OfflineAudiencePrefix + b.Verifier, KBMaxAge: DefaultOfflineWindow})
	if err != nil {
		return redVerdict(err)
	}
	if !res.KeyBound {
		return redVerdict(sdjwt.ErrKBRequired)
	}
	nonce, until, err := OfflineKB(pres, now, DefaultOfflineWindow)
	if err != nil {
		return redVerdict(err)
	}
	if res.Status == nil {
		return redVerdict(ErrStatusMissing)
	}
	l, ok := v.lists[res.Status.URI]
	if !ok || l.issuer != iss {
		return redVerdict(ErrStatusListMissing)
	}
	if !now.Before(l.exp) {
		return redVerdict(ErrStatusListExpired)
	}
	st, err := l.list.Get(int(res.Status.Index))
	if err != nil {
		return redVerdict(err)
	}
	switch st {
	case 0:
	case 1:
		return redVerdict(ErrRevoked)
	case 2:
		return redVerdict(ErrSuspended)
	default:
		return redVerdict(ErrStatusInvalid)
	}
	out := &Verdict{Verdict: "red", Issuer: iss, VCT: vct}
	p := b.Policy
	for _, name := range p.Claims {
		if _, ok := Lookup(res.Claims, name); ok {
			out.ClaimNames = append(out.ClaimNames, name)
		}
	}
	if !slices.Contains(p.VCTs, vct) || len(out.ClaimNames) != len(p.Claims) || !Holds(p.Rule, res.Claims) {
		out.Reasons = []string{ErrPolicyNotMet.Code}
		return out
	}
	// The nonce is used last, by a presentation that passed everything
	// else, so that a red one does not burn a wallet's nonce.
	if nonces == nil || !nonces.Use(nonce, until, now) {
		out.Reasons = []string{ErrNonceReplayed.Code}
		return out
	}
	out.Verdict, out.Claims = "green", map[string]any{}
	for _, name := range p.Show {
		if val, ok := Lookup(res.Claims, name); ok {
			out.Claims[name] = val
		}
	}
	return out
}
