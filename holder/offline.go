package holder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
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
// records it. For a device-key credential the KB-JWT is signed on the
// phone: the answer is the signing input (Prepared), and
// SubmitOfflineQR makes the code. Errors: ErrNotFound, ErrInvalidOffline,
// ErrUnknownClaimRef, dcql.ErrOverAsking, ErrNoFreshCopy, and qr's size
// errors.
func (s *Service) OfflineQR(ctx context.Context, a *Account, id string, req OfflineRequest) (*OfflineQR, *Prepared, error) {
	rec, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading credential: %w", err)
	}
	if !strings.HasPrefix(req.Venue, "did:") || len(req.Venue) > 512 || len(req.Claims) == 0 || len(req.Claims) > 64 {
		return nil, nil, ErrInvalidOffline
	}
	b, err := s.openCopy(a, id, rec.Copies[0])
	if err != nil {
		return nil, nil, err
	}
	for _, c := range req.Claims {
		if _, ok := b.Claims[c]; !ok || technical[c] {
			return nil, nil, ErrUnknownClaimRef
		}
	}
	if s.cfg.Trust == nil {
		return nil, nil, ErrTrustUnreachable
	}
	d, err := s.cfg.Trust.CheckRP(ctx, req.Venue, rec.VCT, req.Claims)
	if err != nil {
		return nil, nil, trustErr(err)
	}
	if !d.Within {
		return nil, nil, dcql.ErrOverAsking.With("the venue's registration does not allow: "+strings.Join(d.Excess, ", "), nil)
	}
	aud := OfflineAudiencePrefix + req.Venue
	// The code is renewed every few seconds: the venue's own copy is
	// shown again (one venue links nothing it did not see already); a
	// copy no verifier has seen is taken the first time.
	cp, k, _, err := s.pickCopy(ctx, a, rec.ID, usedBy(aud), true, nil)
	if errors.Is(err, store.ErrNotFound) { // deleted meanwhile
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.cfg.Store.UseHolderCopy(ctx, a.ID, rec.ID, cp.N, usedBy(aud), true, s.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nil, ErrNoFreshCopy.With("the copy was shown to another verifier meanwhile; try again", err)
		}
		return nil, nil, fmt.Errorf("taking a copy: %w", err)
	}
	if b, err = s.openCopy(a, id, cp); err != nil {
		return nil, nil, err
	}
	ptrs := make([]string, len(req.Claims))
	for i, c := range req.Claims {
		ptrs[i] = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(c)
	}
	names := slices.Clone(req.Claims)
	slices.Sort(names)
	venue := Verifier{DID: req.Venue, Name: d.Name}
	now := s.now()
	if k.Mode == KeyDevice {
		body, err := sdjwt.Present(b.SDJWT, ptrs, nil)
		if err != nil {
			return nil, nil, err
		}
		var jwk keys.JWK
		if err := json.Unmarshal([]byte(k.JWK), &jwk); err != nil {
			return nil, nil, fmt.Errorf("reading the device key: %w", err)
		}
		in, err := kbSigningInput(body, jwk, oid4vp.NewNonce(), aud, now, txHashes{})
		if err != nil {
			return nil, nil, err
		}
		p := &Prepared{ID: newID(), Status: "prepared", ExpiresAt: now.Add(OfflineWindow)}
		tp, _ := jwk.Thumbprint()
		pub, _ := jwk.PublicKey()
		alg, _ := keys.AlgorithmFor(pub)
		p.ToSign = []SignInput{{Key: tp, Alg: alg, SigningInput: in}}
		st := offlineState{Body: body, Input: in, Key: jwk, Venue: venue, CredentialID: id, Claims: names}
		if err := s.putFlow(ctx, a, p.ID, "offline", "prepared", p.ExpiresAt, st); err != nil {
			return nil, nil, err
		}
		return nil, p, nil
	}
	sg, err := keys.Open(k.Sealed, a.dataKey)
	if err != nil {
		return nil, nil, err
	}
	pres, err := sdjwt.Present(b.SDJWT, ptrs, &sdjwt.KeyBinding{Signer: sg, Nonce: oid4vp.NewNonce(), Audience: aud, IssuedAt: now})
	if err != nil {
		return nil, nil, err
	}
	q, err := s.offlineCode(ctx, a, pres, venue, id, names, now)
	return q, nil, err
}

// offlineState is the sealed state of a device-key offline code.
type offlineState struct {
	Body         string   `json:"body"`
	Input        string   `json:"input"`
	Key          keys.JWK `json:"key"`
	Venue        Verifier `json:"venue"`
	CredentialID string   `json:"credential_id"`
	Claims       []string `json:"claims"`
}

// SubmitOfflineQR makes the offline code of a device-key credential with
// the phone's KB-JWT signature (base64url), within OfflineWindow of its
// prepare. It runs once; a bad signature can be sent again. Errors:
// ErrNotFound, ErrFlowFinished, ErrBadSignatures,
// oid4vci.ErrBadDeviceSignature, and qr's size errors.
func (s *Service) SubmitOfflineQR(ctx context.Context, a *Account, id, sig string) (*OfflineQR, error) {
	var st offlineState
	var kb string
	check := func() error {
		raw, err := base64.RawURLEncoding.DecodeString(sig)
		if err != nil || sig == "" {
			return ErrBadSignatures.With("the signature is not base64url", nil)
		}
		kb, err = oid4vci.Assemble(st.Input, raw, sdjwt.TypKBJWT, st.Key)
		return err
	}
	if err := s.takeFlow(ctx, a, "offline", id, "prepared", "submitted", &st, check); err != nil {
		return nil, err
	}
	return s.offlineCode(ctx, a, st.Body+kb, st.Venue, st.CredentialID, st.Claims, s.now())
}

// offlineCode renders a presentation as the SSI1 envelope and its QR
// code, and records it in the history.
func (s *Service) offlineCode(ctx context.Context, a *Account, pres string, venue Verifier, credID string, names []string, now time.Time) (*OfflineQR, error) {
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
	if err := s.record(ctx, a, "offline", venue, credID, names, "offline_qr"); err != nil {
		return nil, err
	}
	return &OfflineQR{Text: text, PNG: base64.StdEncoding.EncodeToString(png), SVG: sym.SVG(), ExpiresAt: now.Add(OfflineWindow)}, nil
}
