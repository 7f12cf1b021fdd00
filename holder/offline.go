package holder

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
)

// OfflineAudiencePrefix: an offline KB-JWT's aud is it followed by the
// venue's DID (docs/offline-qr.md §9).
const OfflineAudiencePrefix = "offline:"

// OfflineWindow is how long an offline QR code is accepted after its iat
// (docs/offline-qr.md §9: 60 s by default); the app renews it sooner.
const OfflineWindow = 60 * time.Second

// Errors of the offline QR code.
var (
	ErrInvalidOffline  = errs.E(errs.Invalid, "invalid_offline_request", "venue must be a DID and claims the names of claims of the credential")
	ErrOfflineDevice   = errs.E(errs.Unprocessable, "offline_device_key", "an offline QR code of a device-key credential is signed on the device; this wallet API does not build it")
	ErrUnknownClaimRef = errs.E(errs.Invalid, "unknown_claim", "the credential has no such claim")
)

// OfflineRequest is POST /wallet/v1/credentials/{id}/offline-qr.
type OfflineRequest struct {
	// Venue is the DID of the venue that will scan the code (its QR code
	// at the entrance shows it as offline:<did>).
	Venue string `json:"venue"`
	// Claims are the claim names to disclose.
	Claims []string `json:"claims"`
}

// OfflineQR is the offline envelope as text, PNG (base64) and SVG.
type OfflineQR struct {
	Text      string    `json:"text"`
	PNG       string    `json:"png"`
	SVG       string    `json:"svg"`
	ExpiresAt time.Time `json:"expires_at"`
}

// OfflineQR builds the SSI1 envelope (internal/qr) of a presentation of
// credential id for the venue: from a copy no other verifier has seen
// (marked as the venue's, and shown to it again on renewal), disclosing only claims, which the venue's registration
// must allow (over_asking otherwise), with a KB-JWT of aud
// "offline:"+venue, a fresh wallet nonce and iat now (§9). The history
// records it. Errors: ErrNotFound, ErrInvalidOffline, ErrUnknownClaimRef,
// dcql.ErrOverAsking, ErrNoFreshCopy, ErrOfflineDevice, and qr's size
// errors.
func (s *Service) OfflineQR(ctx context.Context, a *Account, id string, req OfflineRequest) (*OfflineQR, error) {
	rec, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading credential: %w", err)
	}
	if !strings.HasPrefix(req.Venue, "did:") || len(req.Venue) > 512 || len(req.Claims) == 0 || len(req.Claims) > 64 {
		return nil, ErrInvalidOffline
	}
	if rec.KeyMode == KeyDevice {
		return nil, ErrOfflineDevice
	}
	b, err := s.openCopy(a, id, rec.Copies[0])
	if err != nil {
		return nil, err
	}
	for _, c := range req.Claims {
		if _, ok := b.Claims[c]; !ok || technical[c] {
			return nil, ErrUnknownClaimRef
		}
	}
	if s.cfg.Trust == nil {
		return nil, ErrTrustUnreachable
	}
	d, err := s.cfg.Trust.CheckRP(ctx, req.Venue, rec.VCT, req.Claims)
	if err != nil {
		return nil, trustErr(err)
	}
	if !d.Within {
		return nil, dcql.ErrOverAsking.With("the venue's registration does not allow: "+strings.Join(d.Excess, ", "), nil)
	}
	aud := OfflineAudiencePrefix + req.Venue
	// The code is renewed every few seconds: the venue's own copy is
	// shown again (one venue links nothing it did not see already); a
	// copy no verifier has seen is taken the first time.
	cp, _, err := pickCopy(rec, usedBy(aud), true, map[string]bool{})
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.UseHolderCopy(ctx, a.ID, rec.ID, cp.N, usedBy(aud), true, s.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrNoFreshCopy.With("the copy was shown to another verifier meanwhile; try again", err)
		}
		return nil, fmt.Errorf("taking a copy: %w", err)
	}
	if b, err = s.openCopy(a, id, cp); err != nil {
		return nil, err
	}
	k, err := s.cfg.Store.GetHolderKey(ctx, a.ID, cp.KeyID)
	if err != nil {
		return nil, fmt.Errorf("reading the copy's key: %w", err)
	}
	sg, err := keys.Open(k.Sealed, a.dataKey)
	if err != nil {
		return nil, err
	}
	ptrs := make([]string, len(req.Claims))
	for i, c := range req.Claims {
		ptrs[i] = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(c)
	}
	now := s.now()
	pres, err := sdjwt.Present(b.SDJWT, ptrs, &sdjwt.KeyBinding{Signer: sg, Nonce: oid4vp.NewNonce(), Audience: aud, IssuedAt: now})
	if err != nil {
		return nil, err
	}
	text, err := qr.EncodeEnvelope(pres)
	if err != nil {
		return nil, err
	}
	sym, err := qr.EncodeOffline(text)
	if err != nil {
		return nil, err
	}
	png, err := sym.PNG()
	if err != nil {
		return nil, err
	}
	names := slices.Clone(req.Claims)
	slices.Sort(names)
	if err := s.record(ctx, a, "offline", Verifier{DID: req.Venue, Name: d.Name}, id, names, "offline_qr"); err != nil {
		return nil, err
	}
	return &OfflineQR{Text: text, PNG: base64.StdEncoding.EncodeToString(png), SVG: sym.SVG(), ExpiresAt: now.Add(OfflineWindow)}, nil
}
