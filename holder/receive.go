package holder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
)

// Key modes.
const (
	// KeyCloud: the holder generates an ES256 key per copy and keeps it
	// sealed under the account's data key.
	KeyCloud = "cloud"
	// KeyDevice: the phone keeps the keys; the holder returns what to sign
	// (prepare) and takes the signatures (submit).
	KeyDevice = "device"
)

// ReceiveTTL bounds a device-key receipt between prepare and submit (the
// issuer's nonce lives about as long).
const ReceiveTTL = 5 * time.Minute

// Errors of receiving.
var (
	ErrInvalidKeys   = errs.E(errs.Invalid, "invalid_device_keys", "device keys must be 1 to batch size distinct public ES256 or EdDSA JWKs")
	ErrInvalidMode   = errs.E(errs.Invalid, "invalid_key_mode", "key_mode must be cloud or device")
	ErrNotFound      = errs.E(errs.NotFound, "wallet_not_found", "no such resource in this wallet")
	ErrFlowFinished  = errs.E(errs.Conflict, "flow_finished", "this flow was already completed, declined or expired")
	ErrInvalidCopies = errs.E(errs.Invalid, "invalid_copies", "copies must be 1 to the issuer's batch size, and only with cloud keys")
	ErrBadSignatures = errs.E(errs.Invalid, "invalid_signatures", "one signature is needed per prepared input, in order")
)

// ReceiveRequest is POST /wallet/v1/offers.
type ReceiveRequest struct {
	OfferURI string `json:"offer_uri"`
	TxCode   string `json:"tx_code,omitempty"`
	// KeyMode is cloud (default) or device.
	KeyMode string `json:"key_mode,omitempty"`
	// DeviceKeys are the phone's public keys, one per copy wanted (at
	// most the issuer's batch size), with KeyMode device.
	DeviceKeys []keys.JWK `json:"device_keys,omitempty"`
	// Copies is how many copies to ask for with cloud keys: 1 to the
	// issuer's batch size, which is the default.
	Copies int `json:"copies,omitempty"`
	// Replaces names a credential of a's that this offer re-issues (the
	// issuer's new offer when copies ran low, OpenID4VCI 1.0 "Refreshing
	// Issued Credentials"): it must come from the same issuer and
	// configuration, and becomes refreshed once the new batch is stored.
	Replaces string `json:"replaces,omitempty"`
}

// Prepared is a device-key receipt waiting for the phone's signatures.
type Prepared struct {
	ID        string      `json:"id"`
	Status    string      `json:"status"` // "prepared"
	ToSign    []SignInput `json:"to_sign"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// SignInput is one JWS signing input for the device key Key (its
// thumbprint) to sign with Alg; the signature goes back base64url, raw
// (R||S for ES256).
type SignInput struct {
	Key          string `json:"key"`
	Alg          string `json:"alg"`
	SigningInput string `json:"signing_input"`
}

// receiveState is the sealed state of a device-key receipt.
type receiveState struct {
	Issuer             string                  `json:"issuer"`
	CredentialEndpoint string                  `json:"credential_endpoint"`
	ConfigID           string                  `json:"config_id"`
	Token              string                  `json:"token"`
	TokenType          string                  `json:"token_type"`
	DPoPKey            []byte                  `json:"dpop_key,omitempty"` // sealed under the data key
	Metadata           *oid4vci.IssuerMetadata `json:"metadata"`
	Keys               []keys.JWK              `json:"keys"`
	Inputs             []string                `json:"inputs"`
	// Replaces is the credential this receipt re-issues (ReceiveRequest).
	Replaces string `json:"replaces,omitempty"`
}

// Receive redeems an offer (by value or by reference) into a's wallet.
// With cloud keys it generates one key per copy (the issuer's batch size),
// sends their proofs, checks every credential (checkCredential) and stores
// them all, or nothing; it returns the stored credential. With device keys
// it stops after the nonce and returns what the phone must sign
// (SubmitReceive finishes). Errors: ErrInvalidMode, ErrInvalidKeys, every
// oid4vci error (offer, metadata, address, issuer), ErrCredentialRefused,
// ErrTrustUnreachable, store errors.
func (s *Service) Receive(ctx context.Context, a *Account, req ReceiveRequest) (*Credential, *Prepared, error) {
	mode := req.KeyMode
	if mode == "" {
		mode = KeyCloud
	}
	if mode != KeyCloud && mode != KeyDevice {
		return nil, nil, ErrInvalidMode
	}
	if mode == KeyCloud && len(req.DeviceKeys) > 0 {
		return nil, nil, ErrInvalidKeys.With("device_keys are for key_mode device", nil)
	}
	offer, err := s.wallet.ResolveOffer(ctx, req.OfferURI)
	if err != nil {
		return nil, nil, err
	}
	if req.Replaces != "" {
		// Checked before the offer is redeemed, which spends it.
		if err := s.checkReplaces(ctx, a, req.Replaces, offer); err != nil {
			return nil, nil, err
		}
	}
	sess, err := s.wallet.Redeem(ctx, offer, req.TxCode)
	if err != nil {
		return nil, nil, err
	}
	n := sess.BatchSize()
	if req.Copies < 0 || req.Copies > n || (req.Copies > 0 && mode == KeyDevice) {
		return nil, nil, ErrInvalidCopies
	}
	if req.Copies > 0 {
		n = req.Copies
	}
	if mode == KeyDevice {
		if err := s.checkNewDeviceKeys(ctx, a, req.DeviceKeys, n); err != nil {
			return nil, nil, err
		}
	}
	nonce, err := sess.Nonce(ctx)
	if err != nil {
		return nil, nil, err
	}
	if mode == KeyDevice {
		p, err := s.prepareDevice(ctx, a, sess, req.DeviceKeys, nonce, req.Replaces)
		return nil, p, err
	}
	c, err := s.receiveCloud(ctx, a, sess, n, nonce, req.Replaces)
	return c, nil, err
}

// ErrInvalidReplaces: replaces names a credential this offer cannot
// re-issue.
var ErrInvalidReplaces = errs.E(errs.Invalid, "invalid_replaces", "replaces must name a credential of this offer's issuer and configuration that was not replaced already")

// checkReplaces: credential id of a exists (else ErrNotFound), was not
// replaced already, and has offer's issuer and configuration.
func (s *Service) checkReplaces(ctx context.Context, a *Account, id string, offer *oid4vci.Offer) error {
	rec, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reading credential: %w", err)
	}
	if rec.Status == StatusRefreshed || rec.Issuer != offer.CredentialIssuer || len(offer.ConfigIDs) == 0 || rec.ConfigID != offer.ConfigIDs[0] {
		return ErrInvalidReplaces
	}
	return nil
}

// received finishes a receipt: the credential it re-issues (replaces)
// becomes refreshed. A failure is logged: the new batch stays stored.
func (s *Service) received(ctx context.Context, a *Account, replaces string) {
	if replaces == "" {
		return
	}
	if err := s.cfg.Store.SetHolderCredentialStatus(ctx, a.ID, replaces, "", StatusRefreshed); err != nil {
		s.log.WarnContext(ctx, "holder could not mark a re-issued credential refreshed", "account", a.ID, "credential", replaces, "error", errs.CodeOf(err))
	}
}

// receiveCloud asks sess's issuer for n credentials bound to fresh cloud
// keys and stores them (storeReceived); replaces is the credential they
// re-issue ("" for none).
func (s *Service) receiveCloud(ctx context.Context, a *Account, sess *oid4vci.Session, n int, nonce, replaces string) (*Credential, error) {
	var err error
	signers := make([]keys.Signer, n)
	proofs := make([]string, n)
	for i := range signers {
		if signers[i], err = keys.Generate(keys.ES256); err != nil {
			return nil, err
		}
		if proofs[i], err = oid4vci.Proof(signers[i], sess.Issuer, nonce, s.now()); err != nil {
			return nil, err
		}
	}
	creds, err := sess.Credentials(ctx, proofs)
	if err != nil {
		return nil, err
	}
	holderKeys := make(map[string]store.HolderKey, n)
	for _, sg := range signers {
		k, err := s.cloudKey(a, sg)
		if err != nil {
			return nil, err
		}
		holderKeys[k.ID] = k
	}
	c, err := s.storeReceived(ctx, a, sess.Issuer, sess.ConfigID, sess.Metadata, KeyCloud, creds, holderKeys)
	if err != nil {
		return nil, err
	}
	s.received(ctx, a, replaces)
	return c, nil
}

// checkNewDeviceKeys: ks are 1 to batch distinct usable keys, none bound
// to a copy already.
func (s *Service) checkNewDeviceKeys(ctx context.Context, a *Account, ks []keys.JWK, batch int) error {
	if err := checkDeviceKeys(ks, batch); err != nil {
		return err
	}
	for _, k := range ks {
		tp, _ := k.Thumbprint()
		if _, err := s.cfg.Store.GetHolderKey(ctx, a.ID, tp); err == nil {
			return ErrInvalidKeys.With("a device key is already bound to another copy: one key per copy", nil)
		}
	}
	return nil
}

func checkDeviceKeys(ks []keys.JWK, batch int) error {
	if len(ks) == 0 || len(ks) > batch {
		return ErrInvalidKeys
	}
	seen := map[string]bool{}
	for _, k := range ks {
		pub, err := k.PublicKey()
		if err != nil {
			return ErrInvalidKeys.With("", err)
		}
		if _, err := keys.AlgorithmFor(pub); err != nil {
			return ErrInvalidKeys.With("", err)
		}
		tp, err := k.Thumbprint()
		if err != nil || seen[tp] {
			return ErrInvalidKeys
		}
		seen[tp] = true
	}
	return nil
}

// cloudKey seals a fresh signer under a's data key.
func (s *Service) cloudKey(a *Account, sg keys.Signer) (store.HolderKey, error) {
	jwk, err := jose.PublicJWK(sg.Public())
	if err != nil {
		return store.HolderKey{}, err
	}
	jj, err := json.Marshal(jwk)
	if err != nil {
		return store.HolderKey{}, err
	}
	sealed, err := keys.Seal(sg, a.dataKey)
	if err != nil {
		return store.HolderKey{}, err
	}
	return store.HolderKey{AccountID: a.ID, ID: sg.KeyID(), Mode: KeyCloud, JWK: string(jj), Sealed: sealed, CreatedAt: s.now()}, nil
}

// prepareDevice stores a device-key receipt (re-issuing replaces, when
// not "") and returns its signing inputs.
func (s *Service) prepareDevice(ctx context.Context, a *Account, sess *oid4vci.Session, ks []keys.JWK, nonce, replaces string) (*Prepared, error) {
	st := receiveState{Issuer: sess.Issuer, CredentialEndpoint: sess.CredentialEndpoint, ConfigID: sess.ConfigID,
		Token: sess.Token, TokenType: sess.TokenType, Metadata: sess.Metadata, Keys: ks, Replaces: replaces}
	if sess.DPoPKey != nil {
		b, err := keys.Seal(sess.DPoPKey, a.dataKey)
		if err != nil {
			return nil, err
		}
		st.DPoPKey = b
	}
	p := &Prepared{ID: newID(), Status: "prepared", ExpiresAt: s.now().Add(ReceiveTTL)}
	for _, k := range ks {
		pub, _ := k.PublicKey()
		alg, _ := keys.AlgorithmFor(pub)
		h, err := oid4vci.ProofHeader(alg, k)
		if err != nil {
			return nil, ErrInvalidKeys.With("", err)
		}
		pl, err := oid4vci.ProofPayload(sess.Issuer, nonce, s.now())
		if err != nil {
			return nil, err
		}
		in := oid4vci.SigningInput(h, pl)
		tp, _ := k.Thumbprint()
		st.Inputs = append(st.Inputs, in)
		p.ToSign = append(p.ToSign, SignInput{Key: tp, Alg: alg, SigningInput: in})
	}
	if err := s.putFlow(ctx, a, p.ID, "receive", "prepared", p.ExpiresAt, st); err != nil {
		return nil, err
	}
	return p, nil
}

// putFlow stores a two-call flow's state sealed under a's data key.
func (s *Service) putFlow(ctx context.Context, a *Account, id, kind, status string, exp time.Time, state any) error {
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	sealed, err := keys.SealData(a.dataKey, b, flowContext(a.ID, id))
	if err != nil {
		return err
	}
	return s.cfg.Store.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: a.ID, ID: id, Kind: kind, Status: status,
		State: sealed, CreatedAt: s.now(), ExpiresAt: exp})
}

func flowContext(accountID, id string) []byte { return []byte("holder-flow:" + accountID + "/" + id) }

// readFlow reads flow id of kind, in status from and not expired, into
// state. Errors: ErrFlowFinished (another status, or expired), ErrNotFound
// (unknown, or another account's).
func (s *Service) readFlow(ctx context.Context, a *Account, kind, id, from string, state any) error {
	t, err := s.cfg.Store.GetHolderTransaction(ctx, a.ID, kind, id)
	return s.openFlow(a, t, err, id, from, state)
}

// openFlow is readFlow's end on what reading flow id returned (t, err).
func (s *Service) openFlow(a *Account, t store.HolderTransaction, err error, id, from string, state any) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reading flow: %w", err)
	}
	if t.Status != from || !s.now().Before(t.ExpiresAt) {
		return ErrFlowFinished
	}
	pt, err := keys.OpenData(a.dataKey, t.State, flowContext(a.ID, id))
	if err != nil {
		return err
	}
	// Our own sealed JSON (written by encoding/json): the faster
	// decoder, a third of the CPU on an accept's consent state.
	if err := jsonv2.Unmarshal(pt, state); err != nil {
		return fmt.Errorf("decoding flow: %w", err)
	}
	return nil
}

// takeFlow reads flow id of kind into state (readFlow), runs check on it
// (nil: no check) and moves the flow from status from to to, once: a
// second call is ErrFlowFinished. A check that fails leaves the flow as
// it was, so the app may try again with better input.
func (s *Service) takeFlow(ctx context.Context, a *Account, kind, id, from, to string, state any, check func() error) error {
	if err := s.readFlow(ctx, a, kind, id, from, state); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.FinishHolderTransaction(ctx, a.ID, id, from, to, nil); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ErrFlowFinished
		}
		return fmt.Errorf("finishing flow: %w", err)
	}
	return nil
}

// SubmitReceive finishes a device-key receipt with the phone's signatures
// (base64url, one per prepared input, in order): each must verify for its
// device key, then the credentials are requested, checked and stored as
// in Receive. It runs once; bad signatures leave it to be submitted
// again. Errors: ErrNotFound, ErrFlowFinished, ErrBadSignatures,
// oid4vci.ErrBadDeviceSignature, and Receive's.
func (s *Service) SubmitReceive(ctx context.Context, a *Account, id string, sigs []string) (*Credential, error) {
	var st receiveState
	var proofs []string
	holderKeys := map[string]store.HolderKey{}
	assemble := func() error {
		if len(sigs) != len(st.Inputs) {
			return ErrBadSignatures
		}
		proofs = make([]string, len(sigs))
		for i, sig := range sigs {
			raw, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil {
				return ErrBadSignatures.With("a signature is not base64url", nil)
			}
			if proofs[i], err = oid4vci.Assemble(st.Inputs[i], raw, oid4vci.TypProof, st.Keys[i]); err != nil {
				return err
			}
			jj, _ := json.Marshal(st.Keys[i])
			tp, _ := st.Keys[i].Thumbprint()
			holderKeys[tp] = store.HolderKey{AccountID: a.ID, ID: tp, Mode: KeyDevice, JWK: string(jj), CreatedAt: s.now()}
		}
		return nil
	}
	if err := s.takeFlow(ctx, a, "receive", id, "prepared", "submitted", &st, assemble); err != nil {
		return nil, err
	}
	sess := s.wallet.Resume(&oid4vci.Session{Issuer: st.Issuer, CredentialEndpoint: st.CredentialEndpoint, ConfigID: st.ConfigID,
		Token: st.Token, TokenType: st.TokenType, Metadata: st.Metadata})
	if st.DPoPKey != nil {
		k, err := keys.Open(st.DPoPKey, a.dataKey)
		if err != nil {
			return nil, err
		}
		sess.DPoPKey = k
	}
	creds, err := sess.Credentials(ctx, proofs)
	if err != nil {
		return nil, err
	}
	c, err := s.storeReceived(ctx, a, st.Issuer, st.ConfigID, st.Metadata, KeyDevice, creds, holderKeys)
	if err != nil {
		return nil, err
	}
	s.received(ctx, a, st.Replaces)
	return c, nil
}

// copyBlob is what a copy's sealed column holds.
type copyBlob struct {
	SDJWT       string         `json:"sd_jwt"`
	Claims      map[string]any `json:"claims"`
	Disclosable []string       `json:"disclosable"`
	StatusURI   string         `json:"status_uri,omitempty"`
	StatusIdx   uint64         `json:"status_idx,omitempty"`
	Issuer      string         `json:"iss"`
}

func copyContext(accountID, credID string, n int) []byte {
	return fmt.Appendf(nil, "holder-copy:%s/%s/%d", accountID, credID, n)
}

// storeReceived checks every credential and stores them with their keys
// as one credential, or nothing: each must be bound to one of keys (by
// its cnf), no two to the same key.
func (s *Service) storeReceived(ctx context.Context, a *Account, issuer, configID string, md *oid4vci.IssuerMetadata, mode string, creds []string, byKey map[string]store.HolderKey) (*Credential, error) {
	wantVCT := ""
	var display any = []any{}
	if md != nil {
		wantVCT = md.Configurations[configID].VCT
		display = map[string]any{"issuer": md.Display, "credential": md.ConfigDisplay(configID)}
	}
	dj, err := json.Marshal(display)
	if err != nil {
		return nil, err
	}
	rec := store.HolderCredential{AccountID: a.ID, ID: newID(), Issuer: issuer, ConfigID: configID, Display: string(dj),
		KeyMode: mode, CreatedAt: s.now()}
	used := map[string]bool{}
	status := "valid"
	for i, sd := range creds {
		c, err := s.checkCredential(ctx, sd, wantVCT)
		if err != nil {
			return nil, err
		}
		k, ok := byKey[c.holderKey]
		if !ok || used[c.holderKey] {
			return nil, refused("holder_key_mismatch", nil)
		}
		used[c.holderKey] = true
		rec.Keys = append(rec.Keys, k)
		if i == 0 {
			rec.VCT, rec.ExpiresAt = c.vct, c.expires
		} else if c.vct != rec.VCT {
			return nil, refused("vct_mismatch", nil)
		}
		if c.statusValue != "valid" {
			status = c.statusValue
		}
		b := copyBlob{SDJWT: sd, Claims: c.claims, Disclosable: c.disclosable, Issuer: c.issuer}
		if c.status != nil {
			b.StatusURI, b.StatusIdx = c.status.URI, c.status.Index
		}
		pt, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		sealed, err := keys.SealData(a.dataKey, pt, copyContext(a.ID, rec.ID, i))
		if err != nil {
			return nil, err
		}
		rec.Copies = append(rec.Copies, store.HolderCopy{N: i, KeyID: k.ID, Sealed: sealed})
	}
	rec.Status = status
	if err := s.cfg.Store.PutHolderCredential(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrInvalidKeys.With("a key is already bound to another copy: one key per copy", err)
		}
		return nil, fmt.Errorf("storing credential: %w", err)
	}
	s.log.InfoContext(ctx, "holder credential received", "account", a.ID, "credential", rec.ID, "copies", len(rec.Copies))
	return s.view(a, rec, true)
}
