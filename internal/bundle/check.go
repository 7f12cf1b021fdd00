package bundle

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/shc"
	"github.com/ssi-project/ssi/internal/trust"
)

// Verdict is the offline check's answer, the verifier's verdict document
// (POST /verifier/v1/offline answers the same members).
type Verdict struct {
	Verdict    string         `json:"verdict"` // green or red
	Reasons    []string       `json:"reasons,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	ClaimNames []string       `json:"claim_names,omitempty"`
	Issuer     string         `json:"issuer,omitempty"`
	VCT        string         `json:"vct,omitempty"`
	// Format is ssi, eu-dcc or shc (empty for a text of no known
	// prefix); Holder the holder's name and birth date: for our passes
	// from the shown claims when green, for other systems' passes when
	// genuine (passcheck).
	Format string            `json:"format,omitempty"`
	Holder *passcheck.Holder `json:"holder,omitempty"`
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

// Check judges a holder-shown QR code at now with the bundle alone. Past
// IssuedAt + MaxAge every code is red bundle_too_old. An EU DCC (HC1:) or
// a SMART Health Card (shc:/) is judged by passcheck.Check with the
// bundle's pass trust and the policy's vaccination rule, exactly as the
// online verifier does (checkPass). Anything else is taken for an SSI1
// envelope and judged in the order of the online check: the envelope (its qr_* codes);
// the issuer in the bundle (issuer_unknown, or registry_unavailable when
// the bundle records it as missing) and the key named by kid in
// its document (issuer_key_not_valid_at_iat); its accreditation for the
// vct at iat from the bundle's records (untrusted_issuer); the SD-JWT
// (sdjwt's codes) with a KB-JWT by the offline rules (aud "offline:" +
// the venue's DID, a wallet nonce, a fresh iat, the nonce used once);
// the status from the bundle's list (status_list_not_in_bundle, or
// status_unavailable when the bundle records the list as missing,
// status_list_expired past the token's exp, revoked, suspended); then the
// policy (the vct, the disclosed claims, the rule: policy_not_met).
//
// The issuer's document is the one current when the bundle was made: a
// key rotated out since iat but before the bundle is refused, one rotated
// after the bundle is not yet known. Nothing here opens a connection.
func (v *Verified) Check(text string, now time.Time, nonces Nonces) *Verdict {
	text = strings.TrimRight(text, "\r\n")
	var out *Verdict
	format := formatOf(text)
	switch {
	case now.Sub(v.Bundle.IssuedAt) > time.Duration(v.Bundle.MaxAge)*time.Second:
		out = redVerdict(ErrBundleTooOld)
	case format == passcheck.FormatDCC || format == passcheck.FormatSHC:
		out = v.checkPass(text, now)
	default:
		out = v.checkSSI(text, now, nonces)
		if out.Verdict == "green" {
			// The same holder fields as for the other formats, from
			// what the policy shows (as POST /verifier/v1/offline).
			out.Holder = passcheck.CheckSSIClaims(out.Claims, nil).Holder
		}
	}
	out.Format = format
	return out
}

// formatOf names the format of a QR code's text by its prefix.
func formatOf(text string) string {
	switch {
	case strings.HasPrefix(text, dcc.Prefix):
		return passcheck.FormatDCC
	case strings.HasPrefix(text, shc.Prefix):
		return passcheck.FormatSHC
	case passcheck.IsSSI(text):
		return passcheck.FormatSSI
	}
	return ""
}

// checkPass judges an EU DCC or a SMART Health Card with the bundle's pass
// trust and vaccination rule through passcheck.Check, the online
// verifier's engine: red pass_trust_not_in_bundle when the bundle has no
// pass trust (format 1, or a venue configured without it); otherwise
// passcheck's verdict (its reasons, and the holder of a genuine pass).
func (v *Verified) checkPass(text string, now time.Time) *Verdict {
	if v.passes == nil {
		return redVerdict(ErrPassTrustMissing)
	}
	pv := passcheck.Check(text, *v.passes, v.Bundle.Policy.Vaccination, now)
	return &Verdict{Verdict: pv.Verdict, Reasons: pv.Reasons, Holder: pv.Holder}
}

// checkSSI is Check of an SSI1 envelope (or a text of no known prefix).
func (v *Verified) checkSSI(text string, now time.Time, nonces Nonces) *Verdict {
	b := v.Bundle
	pres, err := qr.DecodeEnvelope(text)
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
	if !ok && v.missing[[2]string{iss, ""}] == MissingIssuer {
		return redVerdict(ErrIssuerIncomplete)
	}
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
	l, err := v.statusList(iss, res.Status.URI)
	if err != nil {
		return redVerdict(err)
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

// statusList is the list at uri of issuer iss in the bundle; when it is
// not there, ErrStatusIncomplete if a Missing record covers it (the
// verifier could not put it in) and ErrStatusListMissing otherwise.
func (v *Verified) statusList(iss, uri string) (verifiedList, error) {
	if l, ok := v.lists[uri]; ok && l.issuer == iss {
		return l, nil
	}
	if v.missing[[2]string{iss, uri}] != "" || v.missing[[2]string{iss, ""}] != "" {
		return verifiedList{}, ErrStatusIncomplete
	}
	return verifiedList{}, ErrStatusListMissing
}
