package holder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
)

// PresentTTL bounds how long a consent waits for the citizen (the
// verifier's nonce lives about as long).
const PresentTTL = 5 * time.Minute

// Errors of presenting.
var (
	ErrInvalidAuthzRequest = errs.E(errs.Invalid, "invalid_authorization_request", "the authorization request is not one this wallet can answer")
	ErrVerifierUnreachable = errs.E(errs.Unavailable, "verifier_unreachable", "the verifier could not be reached")
	ErrVerifierRefused     = errs.E(errs.Unprocessable, "verifier_refused", "the verifier did not accept the response")
	ErrResponseURIOrigin   = errs.E(errs.Invalid, "response_uri_mismatch", "the response_uri is not on the verifier's host")
	ErrTransactionData     = errs.E(errs.Invalid, "invalid_transaction_data", "the request's transaction_data is not of a type this wallet supports, or not as its type defines")
	ErrInvalidChoice       = errs.E(errs.Invalid, "invalid_choice", "a choice names no query, or a credential that does not answer it, or leaves a required query out")
	ErrNoFreshCopy         = errs.E(errs.Conflict, "no_fresh_copy", "every copy of the credential was already shown to a verifier; ask the issuer for a new batch")
)

// PresentRequest is POST /wallet/v1/presentations: the authorization
// request URI (openid4vp://…, as scanned), or its request_uri with its
// client_id.
type PresentRequest struct {
	AuthorizationRequestURI string `json:"authorization_request_uri,omitempty"`
	RequestURI              string `json:"request_uri,omitempty"`
	ClientID                string `json:"client_id,omitempty"`
}

// Verifier is who asks, as the registry says.
type Verifier struct {
	DID            string `json:"did"`
	ClientID       string `json:"client_id"`
	Name           string `json:"name,omitempty"`
	RegistrationID string `json:"registration_id,omitempty"`
	Purpose        string `json:"purpose,omitempty"`
}

// Consent is what the citizen is asked to agree to: who asks, for which
// claims, from which credential, what is optional; or, for a refused
// request, why (over_asking and the claims over the line).
type Consent struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"` // pending, refused
	Reason      string         `json:"reason,omitempty"`
	OverAsking  []string       `json:"over_asking,omitempty"`
	Verifier    Verifier       `json:"verifier"`
	Queries     []ConsentQuery `json:"queries"`
	Satisfiable bool           `json:"satisfiable"`
	// TransactionData are the transactions the verifier asks the citizen
	// to authorize (OpenID4VP transaction_data), each with the queries
	// whose credential may authorize it.
	TransactionData []ConsentTransaction `json:"transaction_data,omitempty"`
	ExpiresAt       time.Time            `json:"expires_at"`
}

// ConsentQuery is one credential query of the request.
type ConsentQuery struct {
	ID         string             `json:"id"`
	Required   bool               `json:"required"`
	Optional   bool               `json:"optional"`
	Multiple   bool               `json:"multiple"`
	VCTs       []string           `json:"vct_values,omitempty"`
	Claims     []string           `json:"claims"` // the names asked
	Candidates []ConsentCandidate `json:"candidates"`
}

// ConsentCandidate is a credential that answers a query, with what it
// would disclose.
type ConsentCandidate struct {
	CredentialID string   `json:"credential_id"`
	VCT          string   `json:"vct"`
	Discloses    []string `json:"discloses"`
	FreshCopies  int      `json:"fresh_copies"`
	// LowCopies: presenting it leaves at most LowCopies fresh copies (the
	// app should ask the issuer for a new offer and redeem it with
	// replaces).
	LowCopies bool `json:"low_copies"`
}

// presentState is the sealed state of a consent.
type presentState struct {
	Verifier     Verifier                 `json:"verifier"`
	ResponseURI  string                   `json:"response_uri"`
	ResponseMode string                   `json:"response_mode"`
	Nonce        string                   `json:"nonce"`
	State        string                   `json:"state"`
	EncKey       *keys.JWK                `json:"enc_key,omitempty"`
	Enc          string                   `json:"enc,omitempty"`
	Queries      []ConsentQuery           `json:"queries"`
	Pointers     map[string][]string      `json:"pointers"` // query id + "|" + credential id → JSON Pointers
	Required     []string                 `json:"required"`
	Sets         []presentSet             `json:"sets,omitempty"`
	Pending      *pendingDevice           `json:"pending,omitempty"`
	Claims       map[string][]string      `json:"claims"` // credential id → claim names to disclose
	Shown        map[string]presentedCopy `json:"shown,omitempty"`
	// TransactionData is the request's, checked (parseTransactionData).
	TransactionData []txData `json:"transaction_data,omitempty"`
}

type presentSet struct {
	Required bool       `json:"required"`
	Options  [][]string `json:"options"`
}

// presentedCopy is a copy chosen for a presentation.
type presentedCopy struct {
	CredentialID string `json:"credential_id"`
	N            int    `json:"n"`
}

// usedBy names a verifier in holder_copies: the SHA-256 of its client_id.
func usedBy(clientID string) string {
	h := sha256.Sum256([]byte(clientID))
	return hex.EncodeToString(h[:])
}

// StartPresentation answers an OpenID4VP 1.0 authorization request up to
// the citizen's consent, in this order: the authorization request URI
// names a decentralized_identifier client_id; the request object, fetched
// from request_uri (never from a non-public address), is signed by a key
// of that DID (resolved through the trust layer, did:key and did:jwk
// locally), carries exactly that client_id, and its response_uri is on
// the request_uri's origin; the verifier's approved registration allows
// every claim the DCQL query asks (else the request is refused as
// over_asking, the verifier gets an access_denied error response, and the
// refusal is recorded in the history); the query is matched against a's
// credentials (least disclosure first). Nothing is disclosed here.
// Errors: ErrInvalidAuthzRequest, oid4vp's request errors (invalid_client,
// invalid_request_object, invalid_request), ErrResponseURIOrigin,
// ErrNotRegistered, the fetch errors.
func (s *Service) StartPresentation(ctx context.Context, a *Account, req PresentRequest) (*Consent, error) {
	ar, err := authorizationRequest(req)
	if err != nil {
		return nil, err
	}
	verifierDID, err := oid4vp.ClientDID(ar.ClientID)
	if err != nil {
		return nil, err
	}
	tok, walletNonce, err := s.fetchRequestObject(ctx, ar)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r, err := oid4vp.VerifyRequest(tok, func(d, kid string) (jose.PublicKey, error) {
		return s.verifierKey(ctx, d, kid, now)
	}, oid4vp.VerifyOptions{ClientID: ar.ClientID, WalletNonce: walletNonce, Now: now})
	if err != nil {
		return nil, err
	}
	if !sameOrigin(r.ResponseURI, ar.RequestURI) {
		return nil, ErrResponseURIOrigin
	}
	st := presentState{Verifier: Verifier{DID: verifierDID, ClientID: r.ClientID}, ResponseURI: r.ResponseURI,
		ResponseMode: r.ResponseMode, Nonce: r.Nonce, State: r.State, Pointers: map[string][]string{}, Claims: map[string][]string{}}
	if r.ResponseMode == oid4vp.DirectPostJWT {
		k, err := r.Metadata.EncryptionKey()
		if err != nil {
			return nil, err
		}
		enc, err := r.Metadata.Enc()
		if err != nil {
			return nil, err
		}
		st.EncKey, st.Enc = &k, enc
	}
	c := &Consent{ID: newID(), Status: "pending", ExpiresAt: now.Add(PresentTTL)}
	if st.TransactionData, err = parseTransactionData(requestClaims(tok), r.DCQL, s.cfg.TransactionDataTypes); err != nil {
		return nil, s.refuseTransactionData(ctx, &st, err)
	}

	// The registration: every vct asked, with the claim names asked of it.
	asked := askedClaims(r.DCQL)
	var excess []string
	for _, vct := range sortedKeys(asked) {
		d, err := s.cfg.Trust.CheckRP(ctx, verifierDID, vct, asked[vct])
		if err != nil {
			return nil, trustErr(err)
		}
		if st.Verifier.Name == "" {
			st.Verifier.Name, st.Verifier.RegistrationID, st.Verifier.Purpose = d.Name, d.RegistrationID, d.Purpose
		}
		if !d.Within {
			if len(d.Excess) == 0 {
				excess = append(excess, vct)
			}
			excess = append(excess, d.Excess...)
		}
	}
	c.Verifier = st.Verifier
	c.Queries = consentQueries(r.DCQL, asked)
	if len(excess) > 0 {
		return s.refuseOverAsking(ctx, a, c, &st, excess)
	}

	// The account's credentials against the query.
	creds, ids, fresh, err := s.candidates(ctx, a, r.ClientID)
	if err != nil {
		return nil, err
	}
	offer := r.DCQL.Candidates(creds)
	c.Satisfiable = offer.Satisfiable
	for i, qo := range offer.Queries {
		cq := &c.Queries[i]
		cq.Required, cq.Optional, cq.Multiple = qo.Required, qo.Optional, qo.Multiple
		if qo.Required {
			st.Required = append(st.Required, qo.ID)
		}
		for _, m := range qo.Candidates {
			credID := ids[m.Credential]
			ptrs := m.Pointers()
			st.Pointers[qo.ID+"|"+credID] = ptrs
			cq.Candidates = append(cq.Candidates, ConsentCandidate{CredentialID: credID, VCT: creds[m.Credential].VCT,
				Discloses: pointerNames(ptrs), FreshCopies: fresh[credID], LowCopies: fresh[credID]-1 <= LowCopies})
		}
	}
	for _, set := range r.DCQL.CredentialSets {
		st.Sets = append(st.Sets, presentSet{Required: set.Required, Options: set.Options})
	}
	if len(st.TransactionData) > 0 {
		offered := map[string]bool{}
		for _, q := range c.Queries {
			offered[q.ID] = len(q.Candidates) > 0
		}
		if unavailableTx(st.TransactionData, offered) {
			return nil, s.refuseTransactionData(ctx, &st, ErrTransactionData.With("no credential in the wallet can authorize a transaction of the request", nil))
		}
		c.TransactionData = consentTransactions(st.TransactionData)
	}
	st.Queries = c.Queries
	if err := s.putFlow(ctx, a, c.ID, "present", "pending", c.ExpiresAt, st); err != nil {
		return nil, err
	}
	return c, nil
}

// requestClaims are the claims of the (verified) request object tok.
func requestClaims(tok string) jose.Claims {
	j, err := jose.ParseUnverified(tok, oid4vp.MaxRequestObjectSize)
	if err != nil {
		return nil
	}
	c, err := j.Claims()
	if err != nil {
		return nil
	}
	return c
}

// refuseTransactionData tells the verifier that its transaction_data
// cannot be answered (invalid_transaction_data, §8.5) and returns err for
// the app; nothing is disclosed.
func (s *Service) refuseTransactionData(ctx context.Context, st *presentState, err error) error {
	if serr := s.sendError(ctx, st, "invalid_transaction_data", "the transaction data is not of a supported type, or not as its type defines"); serr != nil {
		s.log.WarnContext(ctx, "holder could not tell the verifier of a refusal", "error", errs.CodeOf(serr))
	}
	return err
}

func authorizationRequest(req PresentRequest) (*oid4vp.AuthorizationRequest, error) {
	switch {
	case req.AuthorizationRequestURI != "" && req.RequestURI == "" && req.ClientID == "":
		return oid4vp.ParseAuthorizationURI(req.AuthorizationRequestURI)
	case req.AuthorizationRequestURI == "" && req.RequestURI != "" && req.ClientID != "":
		return oid4vp.ParseAuthorizationURI(oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, req.ClientID, req.RequestURI, oid4vp.MethodGet))
	}
	return nil, ErrInvalidAuthzRequest.With("give authorization_request_uri, or request_uri with client_id", nil)
}

// fetchRequestObject gets the request object from the request URI (POST
// with a wallet_nonce when the request says so).
func (s *Service) fetchRequestObject(ctx context.Context, ar *oid4vp.AuthorizationRequest) (tok, walletNonce string, err error) {
	hdr := http.Header{"Accept": {"application/" + oid4vp.TypRequestObject}}
	var res *oidResponse
	if ar.Method == oid4vp.MethodPost {
		walletNonce = oid4vp.NewNonce()
		res, err = s.send(ctx, http.MethodPost, ar.RequestURI, hdr, url.Values{"wallet_nonce": {walletNonce}})
	} else {
		res, err = s.send(ctx, http.MethodGet, ar.RequestURI, hdr, nil)
	}
	if err != nil {
		return "", "", err
	}
	if res.Status != http.StatusOK {
		return "", "", ErrVerifierRefused.With(fmt.Sprintf("the request object could not be fetched (%d)", res.Status), nil)
	}
	if len(res.Body) > oid4vp.MaxRequestObjectSize {
		return "", "", ErrInvalidAuthzRequest.With("the request object is too large", nil)
	}
	return strings.TrimSpace(string(res.Body)), walletNonce, nil
}

type oidResponse struct {
	Status int
	Body   []byte
}

// send makes one request to a verifier through the wallet's checked HTTP
// client; form, when not nil, is the urlencoded body.
func (s *Service) send(ctx context.Context, method, u string, hdr http.Header, form url.Values) (*oidResponse, error) {
	var body []byte
	ct := ""
	if form != nil {
		body, ct = []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	r, err := s.wallet.Do(ctx, method, u, hdr, ct, body)
	if err != nil {
		if errs.CodeOf(err) == "issuer_unreachable" {
			return nil, ErrVerifierUnreachable.With("", err)
		}
		return nil, err
	}
	return &oidResponse{Status: r.Status, Body: r.Body}, nil
}

// verifierKey finds the verifier's request-signing key: kid must be a DID
// URL of d; did:key and did:jwk resolve locally, other methods through
// the trust layer (anchored) as they are now.
func (s *Service) verifierKey(ctx context.Context, d, kid string, now time.Time) (jose.PublicKey, error) {
	if !strings.HasPrefix(kid, d+"#") {
		return jose.PublicKey{}, jose.ErrUnknownKey
	}
	var (
		res *did.Resolution
		err error
	)
	switch {
	case strings.HasPrefix(d, "did:key:"):
		res, err = did.KeyResolver{}.Resolve(ctx, d, did.ResolveOptions{})
	case strings.HasPrefix(d, "did:jwk:"):
		res, err = did.JWKResolver{}.Resolve(ctx, d, did.ResolveOptions{})
	case s.cfg.Trust != nil:
		res, err = s.cfg.Trust.ResolveAt(ctx, d, now)
	default:
		return jose.PublicKey{}, ErrTrustUnreachable
	}
	if err != nil {
		return jose.PublicKey{}, err
	}
	if res == nil || res.Document == nil {
		return jose.PublicKey{}, did.ErrNotFound
	}
	pub, alg, err := res.Document.PublicKey(kid, did.AnyRelationship)
	if err != nil {
		return jose.PublicKey{}, err
	}
	return jose.PublicKey{Key: pub, Alg: alg}, nil
}

// sameOrigin: a and b are absolute URLs with the same scheme and host.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host != "" && strings.EqualFold(ua.Host, ub.Host)
}

// askedClaims are, for each vct the query names, the top-level claim
// names asked of it. A query without vct_values (another format) asks
// under the empty vct, which no registration allows.
func askedClaims(q *dcql.Query) map[string][]string {
	out := map[string][]string{}
	for _, cq := range q.Credentials {
		var names []string
		for _, c := range cq.Claims {
			if n := c.Path.Name(); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		vcts := cq.VCTValues
		if len(vcts) == 0 {
			vcts = []string{""}
		}
		for _, v := range vcts {
			for _, n := range names {
				if !slices.Contains(out[v], n) {
					out[v] = append(out[v], n)
				}
			}
			if _, ok := out[v]; !ok {
				out[v] = []string{}
			}
		}
	}
	return out
}

func consentQueries(q *dcql.Query, asked map[string][]string) []ConsentQuery {
	out := make([]ConsentQuery, len(q.Credentials))
	for i, cq := range q.Credentials {
		out[i] = ConsentQuery{ID: cq.ID, VCTs: cq.VCTValues, Multiple: cq.Multiple, Claims: []string{}, Candidates: []ConsentCandidate{}}
		for _, c := range cq.Claims {
			if n := c.Path.Name(); n != "" && !slices.Contains(out[i].Claims, n) {
				out[i].Claims = append(out[i].Claims, n)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pointerNames are the top-level claim names of JSON Pointers.
func pointerNames(ptrs []string) []string {
	var out []string
	for _, p := range ptrs {
		n, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// candidates are a's credentials that have a copy this verifier may be
// shown (neither revoked, suspended, status_invalid, expired nor refreshed:
// a newer batch answers for a refreshed one) (unused, or with CopyReuse already its own), as dcql sees them,
// with their IDs and fresh-copy counts.
func (s *Service) candidates(ctx context.Context, a *Account, clientID string) ([]dcql.Credential, []string, map[string]int, error) {
	recs, err := s.cfg.Store.ListHolderCredentials(ctx, a.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing credentials: %w", err)
	}
	var creds []dcql.Credential
	var ids []string
	fresh := map[string]int{}
	me := usedBy(clientID)
	for _, r := range recs {
		if r.Status == StatusRevoked || r.Status == StatusSuspended || r.Status == StatusRefreshed || r.Status == StatusInvalid || s.expired(r) {
			continue
		}
		copies, err := s.cfg.Store.GetHolderCopies(ctx, a.ID, r.ID)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading credential: %w", err)
		}
		for _, cp := range copies {
			if cp.UsedBy == "" || (s.cfg.CopyReuse && cp.UsedBy == me) {
				fresh[r.ID]++
			}
		}
		if fresh[r.ID] == 0 {
			continue
		}
		first := copies[0]
		if first.Sealed, err = s.cfg.Store.GetHolderCopySealed(ctx, a.ID, r.ID, first.N); err != nil {
			return nil, nil, nil, fmt.Errorf("reading a copy: %w", err)
		}
		b, err := s.openCopy(a, r.ID, first)
		if err != nil {
			return nil, nil, nil, err
		}
		creds = append(creds, dcql.Credential{Format: oid4vp.FormatSDJWTVC, VCT: r.VCT, Claims: b.Claims, KeyBound: true})
		ids = append(ids, r.ID)
	}
	return creds, ids, fresh, nil
}

// refuseOverAsking answers a request beyond the verifier's registration:
// the verifier gets access_denied (nothing disclosed), the history records
// the refusal with the claim names asked, and the citizen sees which
// claims were over the line.
func (s *Service) refuseOverAsking(ctx context.Context, a *Account, c *Consent, st *presentState, excess []string) (*Consent, error) {
	c.Status, c.Reason, c.OverAsking = "refused", "over_asking", excess
	if c.Verifier.Name == "" {
		c.Reason = "not_registered"
	}
	if err := s.sendError(ctx, st, "access_denied", c.Reason); err != nil {
		s.log.WarnContext(ctx, "holder could not tell the verifier of a refusal", "error", errs.CodeOf(err))
	}
	var names []string
	for _, q := range c.Queries {
		names = append(names, q.Claims...)
	}
	if err := s.record(ctx, a, "online", st.Verifier, "", names, "refused_"+c.Reason); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "holder refused an over-asking request", "account", a.ID, "verifier", st.Verifier.DID)
	return c, nil
}

// sendError posts an OpenID4VP error response (§8.5) to the verifier.
func (s *Service) sendError(ctx context.Context, st *presentState, code, description string) error {
	form := url.Values{"error": {code}, "error_description": {description}}
	if st.State != "" {
		form.Set("state", st.State)
	}
	res, err := s.send(ctx, http.MethodPost, st.ResponseURI, nil, form)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return ErrVerifierRefused.With(fmt.Sprintf("the verifier answered %d", res.Status), nil)
	}
	return nil
}

// historyEntry is a history entry of a's: claim names, never values.
func (s *Service) historyEntry(a *Account, channel string, v Verifier, credID string, claims []string, outcome string) store.HolderHistoryEntry {
	who := v.DID
	if who == "" {
		who = v.ClientID
	}
	return store.HolderHistoryEntry{AccountID: a.ID, ID: newID(), At: s.now(), Channel: channel,
		Verifier: who, VerifierName: v.Name, CredentialID: credID, Claims: claims, Outcome: outcome}
}

// record appends a history entry.
func (s *Service) record(ctx context.Context, a *Account, channel string, v Verifier, credID string, claims []string, outcome string) error {
	if err := s.cfg.Store.AddHolderHistory(ctx, s.historyEntry(a, channel, v, credID, claims, outcome)); err != nil {
		return fmt.Errorf("recording history: %w", err)
	}
	return nil
}

// notPending keeps a flow error that the citizen should see and wraps
// the others.
func notPending(err error) error {
	if errors.Is(err, ErrFlowFinished) || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("taking the consent: %w", err)
}
