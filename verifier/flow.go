package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
)

// Errors of the wallet-facing endpoints, rendered in the OAuth form.
var (
	ErrNonceUsed      = errs.E(errs.Conflict, "nonce_used", "this request was already answered")
	ErrRequestExpired = errs.E(errs.Invalid, "request_expired", "the request has expired")
	ErrInvalidState   = errs.E(errs.Invalid, "invalid_state", "the state is not this request's")
	// ErrTemporarilyUnavailable (RFC 6749 §4.1.2.1): the trust check could
	// not be completed; nothing was recorded and the wallet may retry.
	ErrTemporarilyUnavailable = errs.E(errs.Unavailable, "temporarily_unavailable", "the presentation cannot be checked now; try again")
)

// RequestObject returns the signed request object of a request ID, as a
// wallet fetches it by request_uri: by GET (walletNonce "") or by POST,
// whose wallet_nonce it echoes (§5.10). It is signed afresh each time, for
// as long as the transaction is pending.
func (s *Service) RequestObject(ctx context.Context, requestID, walletNonce string) (string, error) {
	t, err := s.walletTx(ctx, requestID, false) // its events as stored
	if err != nil {
		return "", err
	}
	tx, v, p, r := t.tx, t.venue, t.policy, t.req
	if len(walletNonce) > 256 {
		return "", oid4vp.InvalidRequest("wallet_nonce is too long")
	}
	req := &oid4vp.Request{
		ClientID: v.ClientID(), ResponseMode: tx.ResponseMode,
		ResponseURI: s.cfg.PublicURL + "/verifier/v1/responses/" + tx.RequestID,
		Nonce:       tx.Nonce, State: tx.State, DCQL: p.query, DCQLJSON: r.DCQL,
		Metadata: r.Metadata, WalletNonce: walletNonce,
		IssuedAt: s.now(), ExpiresAt: tx.ExpiresAt,
	}
	tok, err := oid4vp.SignRequest(v.Signer, v.KeyID, req)
	if err != nil {
		return "", err
	}
	if len(tx.Events) < 8 {
		ev := append(tx.Events, store.PresentationEvent{Type: "request_fetched", At: s.now()})
		if err := s.cfg.Store.SetPresentationEvents(ctx, tx.ID, ev); err != nil && !errors.Is(err, store.ErrConflict) {
			return "", err
		}
	}
	return tok, nil
}

// Answer is what the response endpoint returns to the wallet.
type Answer struct {
	// RedirectURI, for a same-device transaction, is where the wallet
	// sends the browser: the venue's redirect with a fresh response_code.
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// Respond takes a wallet's response to a request ID (the body of
// direct_post or direct_post.jwt), checks it, and records the verdict.
//
// A body that is not a response to this request is refused and nothing is
// stored: another request ID (presentation_not_found), a finished
// transaction (nonce_used), an expired one (request_expired), a form or
// JWE that does not parse or was not made for this transaction's key and
// algorithms (invalid_request, invalid_encrypted_response,
// vp_token_too_large), another transaction's state (invalid_state). Any
// other response is checked (verify) and its verdict, green or red, is
// recorded; only the first of concurrent responses is, the others are
// nonce_used. A check that could not be completed (the trust layer or a
// status list unreachable) records nothing: temporarily_unavailable (503),
// and the wallet may post the same response again.
func (s *Service) Respond(ctx context.Context, requestID string, form url.Values) (*Answer, error) {
	t, err := s.walletTx(ctx, requestID, true)
	if err != nil {
		return nil, err
	}
	tx, v, p, r := t.tx, t.venue, t.policy, t.req
	var resp *oid4vp.Response
	if tx.ResponseMode == oid4vp.DirectPostJWT && form.Has("response") {
		if len(form["response"]) != 1 || len(form) != 1 {
			return nil, oid4vp.InvalidRequest("a direct_post.jwt body carries one response parameter and nothing else")
		}
		if resp, err = oid4vp.DecryptResponseECDH(form.Get("response"), t.key, r.EncKID, r.Metadata.EncValues); err != nil {
			return nil, err
		}
	} else {
		if resp, err = oid4vp.ParseResponseForm(form); err != nil {
			return nil, err
		}
		if tx.ResponseMode == oid4vp.DirectPostJWT && resp.Error == "" {
			return nil, oid4vp.InvalidRequest("this request asked for an encrypted response")
		}
	}
	if subtle.ConstantTimeCompare([]byte(resp.State), []byte(tx.State)) != 1 {
		return nil, ErrInvalidState
	}
	now := s.now()
	var o outcome
	if resp.Error != "" {
		o = outcome{reasons: []string{walletError(resp.Error)}}
	} else {
		o = s.verify(ctx, checkInput{venue: v, policy: p, nonce: tx.Nonce, aud: v.ClientID(), vpToken: resp.VPToken})
	}
	if o.unavailable != nil {
		// Not a verdict: the wallet may send the same response again.
		s.log.WarnContext(ctx, "presentation not checked", "tenant", tx.TenantID, "reason", o.reasons[0])
		return nil, ErrTemporarilyUnavailable.With("", o.unavailable)
	}
	res := store.PresentationResult{Status: store.PresentationRejected, Verdict: "red", Reasons: o.reasons,
		ClaimNames: o.names, Issuer: o.issuer, VCT: o.vct, DoneAt: now,
		Events: []store.PresentationEvent{{Type: "response_received", At: now}}} // appended to the stored ones
	if o.green {
		res.Status, res.Verdict = store.PresentationVerified, "green"
	}
	res.Events = append(res.Events, store.PresentationEvent{Type: res.Status, At: now})
	ans := &Answer{}
	if tx.RedirectURI != "" {
		code := oid4vp.NewNonce()
		h := sha256.Sum256([]byte(code))
		res.ResponseCodeHash = h[:]
		sep := "?"
		if strings.Contains(tx.RedirectURI, "?") {
			sep = "&"
		}
		ans.RedirectURI = tx.RedirectURI + sep + "response_code=" + code
	}
	if o.green && len(o.shown) > 0 {
		if res.Shown, err = s.sealShown(tx, o.shown); err != nil {
			return nil, err
		}
	}
	recorded, err := s.verdicts.Do(store.Verdict{ID: tx.ID, PresentationResult: res})
	s.txs.drop(tx.RequestID) // answered, or answered before: either way done here
	if err != nil {
		return nil, err
	}
	if !recorded {
		return nil, ErrNonceUsed
	}
	s.notify(tx.ID)
	if s.log.Enabled(ctx, slog.LevelInfo) { // its arguments cost allocations even when it is off
		s.log.InfoContext(ctx, "presentation checked", "tenant", tx.TenantID, "policy", tx.Policy, "verdict", res.Verdict, "reasons", o.reasons)
	}
	return ans, nil
}

// sealShown seals the shown claim values, kept with the verdict until
// the venue fetches them once, or the transaction's retention ends.
func (s *Service) sealShown(tx store.Presentation, shown map[string]any) (*store.SingleUse, error) {
	b, err := json.Marshal(shown)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	sealed, err := s.seal(b, "claims", tx.ID)
	clear(b)
	if err != nil {
		return nil, err
	}
	return &store.SingleUse{Kind: claimsKind, Value: tx.ID, Data: sealed, ExpiresAt: tx.ExpiresAt.Add(s.cfg.TransactionTTL)}, nil
}

// walletError is the reason recorded for a wallet's error response: its
// code when it is one of OpenID4VP's, else wallet_error.
func walletError(code string) string {
	switch code {
	case "access_denied", "invalid_request", "invalid_client", "vp_formats_not_supported",
		"invalid_request_uri_method", "invalid_transaction_data", "wallet_unavailable":
		return "wallet_" + code
	}
	return "wallet_error"
}
