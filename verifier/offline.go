package verifier

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/shc"
	"github.com/ssi-project/ssi/internal/store"
)

// Offline KB-JWT rules of docs/offline-qr.md §9 (internal/bundle).
const (
	OfflineAudiencePrefix = bundle.OfflineAudiencePrefix
	DefaultOfflineWindow  = bundle.DefaultOfflineWindow
	offlineNonceKind      = "verifier-offline-nonce"
)

// Errors of the offline check.
var (
	ErrNonceReplayed     = bundle.ErrNonceReplayed
	ErrUnsupportedFormat = errs.E(errs.Invalid, "unsupported_pass_format", "this kind of QR code is not read here yet")
)

// OfflineRequest is the body of POST /verifier/v1/offline.
type OfflineRequest struct {
	QR string `json:"qr"`
	// Policy is the venue's policy to apply; "" means its first.
	Policy string `json:"policy,omitempty"`
}

// Verdict is the answer to an offline presentation: the same verdict
// document as a transaction's, and nothing of it is stored.
type Verdict struct {
	Verdict    string         `json:"verdict"`
	Reasons    []string       `json:"reasons,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	ClaimNames []string       `json:"claim_names,omitempty"`
	Issuer     string         `json:"issuer,omitempty"`
	VCT        string         `json:"vct,omitempty"`
	// Format is ssi, eu-dcc or shc; Holder the holder's name and birth
	// date (for our passes from the shown claims, when green; for other
	// systems' passes, passes.go, when genuine).
	Format string            `json:"format,omitempty"`
	Holder *passcheck.Holder `json:"holder,omitempty"`
}

// Offline checks a holder-shown QR code at the venue of tenantID.
//
// The text is dispatched on its prefix: SSI1: is our envelope
// (internal/qr), decoded byte-exact into an SD-JWT+KB; EU DCCs (HC1:) and
// SMART Health Cards (shc:/) go to internal/passcheck (offlinePass);
// anything else is qr_unknown_prefix. A text that does not decode is refused with the
// envelope's code (a 4xx, nothing stored).
//
// A decoded presentation goes through the online trust check, with the
// offline KB-JWT rules instead of a transaction's nonce: aud exactly
// "offline:" + the venue's DID (invalid_audience), a wallet nonce of 22
// to 64 base64url characters (invalid_nonce), iat within [now − W,
// now + 10 s] (stale_key_binding), and the nonce accepted once per venue
// until iat + W + 10 s (nonce_replayed), remembered in the store so that
// every scanner of the venue shares it. Then the policy's DCQL query is
// matched against what was disclosed, and its rule decides.
func (s *Service) Offline(ctx context.Context, tenantID string, req OfflineRequest) (*Verdict, error) {
	v, err := s.venue(tenantID)
	if err != nil {
		return nil, err
	}
	p := &v.Policies[0]
	if req.Policy != "" {
		if p, err = v.policy(req.Policy); err != nil {
			return nil, err
		}
	}
	text := strings.TrimRight(req.QR, "\r\n")
	var pres string
	switch {
	case strings.HasPrefix(text, dcc.Prefix), strings.HasPrefix(text, shc.Prefix):
		return s.offlinePass(ctx, v, p, text)
	default:
		if pres, err = qr.DecodeEnvelope(text); err != nil {
			return nil, err
		}
	}
	window := DefaultOfflineWindow
	in := checkInput{venue: v, policy: p, aud: OfflineAudiencePrefix + v.DID, kbMaxAge: window,
		vpToken: map[string][]string{p.query.Credentials[0].ID: {pres}}}
	o := s.verifyOffline(ctx, in, pres, window)
	if o.unavailable != nil {
		return nil, ErrTemporarilyUnavailable.With("", o.unavailable)
	}
	out := &Verdict{Verdict: "red", Reasons: o.reasons, ClaimNames: o.names, Issuer: o.issuer, VCT: o.vct, Format: passcheck.FormatSSI}
	if o.green {
		out.Verdict, out.Claims = "green", o.shown
		// The same holder fields as for the other formats, from what the
		// policy shows.
		out.Holder = passcheck.CheckSSIClaims(o.shown, nil).Holder
	}
	s.log.InfoContext(ctx, "offline presentation checked", "tenant", tenantID, "policy", p.Name, "verdict", out.Verdict, "reasons", o.reasons)
	return out, nil
}

// verifyOffline applies the offline nonce and iat rules to a presentation
// the trust check accepted, then records its nonce.
func (s *Service) verifyOffline(ctx context.Context, in checkInput, pres string, window time.Duration) outcome {
	o := s.verify(ctx, in)
	if !o.green {
		return o
	}
	// verify checked the KB-JWT's signature, aud, sd_hash and age.
	nonce, until, err := bundle.OfflineKB(pres, s.now(), window)
	if err != nil {
		return red(err)
	}
	err = s.cfg.Store.PutSingleUse(ctx, store.SingleUse{
		Kind: offlineNonceKind + ":" + in.venue.DID, Value: nonce, ExpiresAt: until,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return red(ErrNonceReplayed)
	case err != nil:
		return red(ErrTrustUnavailable.With("the nonce memory is unavailable", err))
	}
	return o
}
