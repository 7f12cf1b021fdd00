package issuer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/store"
)

// AdminStore is what the admin routes need from the store.
type AdminStore interface {
	httpx.KeyStore
	httpx.Auditor
	httpx.IdemStore
}

// Admin scopes (the same strings as internal/admin).
const (
	ScopeIssue  = "credentials:issue"
	ScopeRevoke = "credentials:revoke"
	// ScopeAuditRead reads the anchoring state (as it reads the audit
	// log): oversight, no change.
	ScopeAuditRead = "audit:read"
)

// StatusListMediaType is the content type of a served status list.
const StatusListMediaType = "application/statuslist+jwt"

// VersionHeader carries the published version of a served status list, so
// that a verifier can fetch that version's anchor receipt and compare its
// hash with the bytes it received.
const VersionHeader = "Status-List-Version"

// Routes mounts the issuer on r:
//
//   - the OpenID4VCI endpoints of each tenant under /issuers/{tenant}
//     (offers by reference, token, nonce, credential) and their metadata
//     under /.well-known/openid-credential-issuer/issuers/{tenant} and
//     /.well-known/oauth-authorization-server/issuers/{tenant}, with OAuth
//     error bodies;
//   - the status lists at /status/{list} and their anchor receipts;
//   - the admin API under /issuer/v1 (API key, scopes, tenant isolation,
//     Idempotency-Key on POSTs), with problem+json errors.
//
// Every answer but a served status list must not be cached (RFC 6749
// §5.1 for the token response): the server mounts httpx.SecurityHeaders in
// front, which sets Cache-Control: no-store on all of them.
func Routes(r chi.Router, s *Service, st AdminStore, maxBody int64) {
	h := handlers{s: s, maxBody: maxBody}
	r.Get("/.well-known/openid-credential-issuer/issuers/{tenant}", httpx.H(h.issuerMetadata))
	r.Get("/.well-known/oauth-authorization-server/issuers/{tenant}", httpx.H(h.asMetadata))
	r.Route("/issuers/{tenant}", func(r chi.Router) {
		r.Get("/offers/{code}", httpx.OAuth(h.offer))
		r.Post("/token", httpx.OAuth(h.token))
		r.Post("/nonce", httpx.OAuth(h.nonce))
		r.Post("/credential", httpx.OAuth(h.credential))
	})
	r.Get("/status", httpx.H(h.statusListIndex))
	r.Get("/status/{list}", httpx.H(h.statusList))
	r.Get("/status/{list}/versions/{version}/receipt", httpx.H(h.receipt))
	r.Get("/status/{list}/latest", httpx.H(h.provenStatusList))
	r.Get("/status/{list}/versions/{version}", httpx.H(h.provenStatusList))
	r.Route("/issuer/v1", func(r chi.Router) {
		r.Use(httpx.Authenticate(st))
		g := httpx.Guard{Audit: st, Idem: st, Now: s.now, MaxBody: maxBody}
		r.With(g.Scope(ScopeIssue)).Post("/offers", httpx.H(h.createOffer))
		r.With(g.Scope(ScopeIssue)).Get("/credentials", httpx.H(h.listCredentials))
		r.With(g.Scope(ScopeIssue)).Get("/configurations", httpx.H(h.listConfigurations))
		r.With(g.Scope(ScopeAuditRead)).Get("/anchoring", httpx.H(h.anchoring))
		for _, a := range []string{ActionRevoke, ActionSuspend, ActionUnsuspend} {
			r.With(g.Scope(ScopeRevoke)).Post("/credentials/{id}/"+a, httpx.H(h.setStatus(a)))
		}
	})
}

type handlers struct {
	s       *Service
	maxBody int64
}

// ---- OpenID4VCI ----

func (h handlers) issuerMetadata(w http.ResponseWriter, r *http.Request) error {
	md, err := h.s.Metadata(chi.URLParam(r, "tenant"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, md)
}

func (h handlers) asMetadata(w http.ResponseWriter, r *http.Request) error {
	md, err := h.s.AuthServerMetadata(chi.URLParam(r, "tenant"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, md)
}

func (h handlers) offer(w http.ResponseWriter, r *http.Request) error {
	doc, err := h.s.OfferDocument(r.Context(), chi.URLParam(r, "tenant"), chi.URLParam(r, "code"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, doc)
}

// client is the rate-limit key of the caller: its address (behind a
// trusted proxy, the one the proxy names), per /64 for IPv6.
func (h handlers) client(r *http.Request) string {
	return httpx.ClientKey(httpx.ClientAddr(r, h.s.cfg.TrustedProxies))
}

func (h handlers) token(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.RequireMediaType(r, "application/x-www-form-urlencoded"); err != nil {
		return err // 415, invalid_request in the OAuth form
	}
	body, err := httpx.ReadBody(r, 8<<10)
	if err != nil {
		return err
	}
	form, err := parseForm(string(body))
	if err != nil {
		return err
	}
	if _, ok := form["authorization_details"]; ok {
		// Not silently dropped: the wallet would take the token for one
		// that carries the details it asked for (OpenID4VCI §6.2).
		return ErrInvalidRequest.With("authorization_details is not supported by this issuer", nil)
	}
	resp, err := h.s.Token(r.Context(), chi.URLParam(r, "tenant"), TokenRequest{
		GrantType: form["grant_type"], Code: form["pre-authorized_code"], TxCode: form["tx_code"], Client: h.client(r),
		DPoP: r.Header.Values("DPoP"),
	})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, resp)
}

// parseForm decodes a form body, refusing repeated parameters (RFC 6749
// §3.2: parameters must not be included more than once).
func parseForm(body string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(body, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, ErrInvalidRequest.With("the form body is malformed", nil)
		}
		if _, dup := out[k]; dup {
			return nil, ErrInvalidRequest.With("a parameter is repeated", nil)
		}
		out[k] = v
	}
	return out, nil
}

func (h handlers) nonce(w http.ResponseWriter, r *http.Request) error {
	n, err := h.s.Nonce(r.Context(), chi.URLParam(r, "tenant"), h.client(r))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]string{"c_nonce": n})
}

// authorization returns the scheme (SchemeBearer or SchemeDPoP) and the
// access token of the request's Authorization header, or "" and "".
func authorization(r *http.Request) (scheme, tok string) {
	a := r.Header.Get("Authorization")
	name, tok, ok := strings.Cut(a, " ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return "", ""
	}
	switch {
	case strings.EqualFold(name, SchemeBearer):
		return SchemeBearer, tok
	case strings.EqualFold(name, SchemeDPoP):
		return SchemeDPoP, tok
	}
	return "", ""
}

// dpopAlgs is the algs parameter of a DPoP challenge (RFC 9449 §7.1).
var dpopAlgs = `algs="` + strings.Join(DPoPAlgs, " ") + `"`

// challenge sets the WWW-Authenticate header of a refused credential
// request: a DPoP challenge when DPoP is involved (the DPoP scheme, a
// DPoP-bound token, a proof error), else a Bearer one (RFC 6750 §3).
func challenge(w http.ResponseWriter, scheme string, err error) {
	code := errs.CodeOf(err)
	if scheme == SchemeDPoP || errors.Is(err, errBoundToken) || errors.Is(err, ErrInvalidDPoPProof) {
		w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", `+dpopAlgs)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
}

func (h handlers) credential(w http.ResponseWriter, r *http.Request) error {
	scheme, tok := authorization(r)
	if tok == "" {
		// No error code in the challenge of a request without
		// credentials (RFC 6750 §3.1, RFC 9449 §7.1); the body still
		// names it. Bearer is offered unless DPoP is required.
		c := `Bearer, DPoP ` + dpopAlgs
		if h.s.cfg.RequireDPoP {
			c = `DPoP ` + dpopAlgs
		}
		w.Header().Set("WWW-Authenticate", c)
		return ErrInvalidToken.With("an access token is required", nil)
	}
	tenantID := chi.URLParam(r, "tenant")
	req, err := h.credentialRequest(r, tok)
	if err != nil {
		// A bad token is reported before a bad body, so that a wallet
		// holding a dead token learns that first.
		// Only a dead token takes precedence: a store failure while
		// checking must not turn a final 400 into a 503 to retry. The
		// DPoP proof is not checked, and its jti not used up, for a
		// request refused for its body.
		if terr := h.s.CheckAccessToken(r.Context(), tenantID, scheme, tok); errors.Is(terr, ErrInvalidToken) {
			challenge(w, scheme, terr)
			return terr
		}
		return err
	}
	req.Scheme, req.DPoP = scheme, r.Header.Values("DPoP")
	creds, err := h.s.Credential(r.Context(), tenantID, req)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrInvalidDPoPProof) {
			challenge(w, scheme, err)
		}
		return err
	}
	out := struct {
		Credentials []map[string]string `json:"credentials"`
	}{}
	for _, c := range creds {
		out.Credentials = append(out.Credentials, map[string]string{"credential": c.SDJWT})
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// ---- status lists ----

// statusListIndex serves {"issuer", "status_lists": [uri…]}: the
// published status lists of the issuer DID named by ?issuer=.
func (h handlers) statusListIndex(w http.ResponseWriter, r *http.Request) error {
	iss := r.URL.Query().Get("issuer")
	lists, err := h.s.StatusListIndex(r.Context(), iss)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"issuer": iss, "status_lists": lists})
}

func (h handlers) statusList(w http.ResponseWriter, r *http.Request) error {
	v, err := h.s.StatusListToken(r.Context(), chi.URLParam(r, "list"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", StatusListMediaType)
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(h.s.cfg.ListTTL.Seconds())))
	w.Header().Set("ETag", `"`+v.SHA256+`"`)
	w.Header().Set(VersionHeader, strconv.FormatUint(v.Version, 10))
	_, err = w.Write([]byte(v.Token))
	return err
}

// provenStatusList serves a status list version with its anchor receipt
// and the list's latest-version proof (trust.StatusListVersion): the
// latest anchored one at /latest, or the one named at /versions/{n}.
func (h handlers) provenStatusList(w http.ResponseWriter, r *http.Request) error {
	var ver uint64
	if s := chi.URLParam(r, "version"); s != "" {
		var err error
		if ver, err = strconv.ParseUint(s, 10, 53); err != nil || ver == 0 {
			return errs.E(errs.Invalid, "invalid_version", "the version must be a positive integer")
		}
	}
	v, err := h.s.ProvenStatusList(r.Context(), chi.URLParam(r, "list"), ver)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, v)
}

func (h handlers) receipt(w http.ResponseWriter, r *http.Request) error {
	ver, err := strconv.ParseUint(chi.URLParam(r, "version"), 10, 63)
	if err != nil || ver == 0 {
		return errs.E(errs.Invalid, "invalid_version", "the version must be a positive integer")
	}
	rc, err := h.s.Receipt(r.Context(), chi.URLParam(r, "list"), ver)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, rc)
}

// ---- admin ----

func actor(r *http.Request) Actor {
	p, _ := httpx.PrincipalFrom(r.Context())
	return Actor{TenantID: p.TenantID, ID: p.KeyID, RequestID: httpx.RequestID(r.Context())}
}

type createOfferRequest struct {
	CredentialConfigurationID string          `json:"credential_configuration_id"`
	SubjectRef                string          `json:"subject_ref"`
	SubjectData               json.RawMessage `json:"subject_data"`
}

// OfferView is the admin's view of a created offer. tx_code is shown only
// here, for out-of-band delivery to the citizen.
type OfferView struct {
	ID       string `json:"id"`
	OfferURI string `json:"offer_uri"` // by reference; the QR code holds it
	// OfferByValueURI carries the offer JSON itself, for a same-device
	// link; it holds the same pre-authorized code as OfferURI.
	OfferByValueURI string    `json:"offer_by_value_uri"`
	TxCode          string    `json:"tx_code"`
	ExpiresAt       time.Time `json:"expires_at"`
	QRPNG           string    `json:"qr_png"` // base64 of the PNG
	QRSVG           string    `json:"qr_svg"`
}

func (h handlers) createOffer(w http.ResponseWriter, r *http.Request) error {
	var req createOfferRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	o, err := h.s.CreateOffer(r.Context(), actor(r), OfferRequest{
		ConfigID: req.CredentialConfigurationID, SubjectRef: req.SubjectRef, SubjectData: req.SubjectData,
	})
	if err != nil {
		return err
	}
	sym, err := qr.EncodeURI(o.URI)
	if err != nil {
		return errs.Wrap(errs.Internal, "", "", fmt.Errorf("encoding the offer QR code: %w", err))
	}
	png, err := sym.PNG()
	if err != nil {
		return errs.Wrap(errs.Internal, "", "", err)
	}
	return httpx.JSON(w, http.StatusCreated, OfferView{ID: o.ID, OfferURI: o.URI, OfferByValueURI: o.ByValueURI, TxCode: o.TxCode, ExpiresAt: o.ExpiresAt,
		QRPNG: base64.StdEncoding.EncodeToString(png), QRSVG: sym.SVG()})
}

// credentialRequest reads and parses the body of a credential request.
func (h handlers) credentialRequest(r *http.Request, tok string) (CredentialRequest, error) {
	if err := httpx.RequireMediaType(r, "application/json"); err != nil {
		return CredentialRequest{}, err // 415, invalid_request in the OAuth form
	}
	body, err := httpx.ReadBody(r, h.maxBody)
	if err != nil {
		return CredentialRequest{}, err
	}
	return ParseCredentialRequest(body, tok)
}

// CredentialView is an issuance record as the admin API shows it.
type CredentialView struct {
	ID         string    `json:"id"`
	Config     string    `json:"credential_configuration_id"`
	SubjectRef string    `json:"subject_ref"`
	StatusList string    `json:"status_list"`
	Index      int64     `json:"idx"`
	Status     string    `json:"status"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func statusName(v int) string {
	switch v {
	case StatusValid:
		return "valid"
	case StatusRevoked:
		return "revoked"
	case StatusSuspended:
		return "suspended"
	}
	return strconv.Itoa(v)
}

func (h handlers) view(c store.IssuedCredential) CredentialView {
	return CredentialView{ID: c.ID, Config: c.ConfigID, SubjectRef: c.SubjectRef, StatusList: h.s.cfg.PublicURL + "/status/" + c.ListID,
		Index: c.Index, Status: statusName(c.Status), State: c.State, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
}

func (h handlers) listCredentials(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.s.Credentials(r.Context(), actor(r).TenantID, r.URL.Query().Get("subject_ref"))
	if err != nil {
		return err
	}
	out := struct {
		Credentials []CredentialView `json:"credentials"`
	}{Credentials: make([]CredentialView, 0, len(cs))}
	for _, c := range cs {
		out.Credentials = append(out.Credentials, h.view(c))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

type statusRequest struct {
	Reason string `json:"reason"`
}

func (h handlers) setStatus(action string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h.doSetStatus(w, r, action)
	}
}

func (h handlers) doSetStatus(w http.ResponseWriter, r *http.Request, action string) error {
	var req statusRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	ch, err := h.s.SetStatus(r.Context(), actor(r), chi.URLParam(r, "id"), action, req.Reason)
	if err != nil {
		return err
	}
	out := struct {
		Credential CredentialView `json:"credential"`
		Changed    bool           `json:"changed"`
	}{h.view(ch.Credential), ch.Changed}
	return httpx.JSON(w, http.StatusOK, out)
}

func (h handlers) listConfigurations(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Configurations []ConfigurationView `json:"configurations"`
	}{h.s.Configurations(actor(r).TenantID)}
	return httpx.JSON(w, http.StatusOK, out)
}

func (h handlers) anchoring(w http.ResponseWriter, r *http.Request) error {
	a, err := h.s.Anchoring(r.Context(), actor(r).TenantID)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, a)
}
