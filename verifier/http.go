package verifier

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/oid4vp"
)

// AdminStore is what the venue-facing routes need of the store.
type AdminStore interface {
	httpx.KeyStore
	httpx.Auditor
	httpx.IdemStore
}

// Scopes of the venue-facing API (the same strings as internal/admin).
const (
	ScopeCreate = "presentations:create"
	ScopeRead   = "presentations:read"
)

// RequestObjectMediaType is the content type of a served request object.
const RequestObjectMediaType = "application/oauth-authz-req+jwt"

// maxFormBody caps a wallet's response body: the largest vp_token or
// JWE, form-encoded (which at most triples it).
const maxFormBody = 3*oid4vp.MaxResponseSize + 4096

// Routes mounts the verifier on r:
//
//   - the venue-facing API under /verifier/v1/presentations,
//     /verifier/v1/offline, /verifier/v1/trust-bundle and
//     /verifier/v1/policies (API key with
//     presentations:create or presentations:read, tenant isolation,
//     Idempotency-Key on POST), with problem+json errors;
//   - the wallet-facing OpenID4VP endpoints, with OAuth error bodies:
//     GET and POST /verifier/v1/requests/{request_id} (the request object)
//     and POST /verifier/v1/responses/{request_id} (direct_post and
//     direct_post.jwt).
func Routes(r chi.Router, s *Service, st AdminStore, maxBody int64) {
	h := handlers{s: s, maxBody: maxBody}
	r.Route("/verifier/v1", func(r chi.Router) {
		r.Get("/requests/{request}", httpx.OAuth(h.requestObject))
		r.Post("/requests/{request}", httpx.OAuth(h.requestObject))
		r.Post("/responses/{request}", httpx.OAuth(h.response))
		r.Group(func(r chi.Router) {
			r.Use(httpx.Authenticate(st))
			g := httpx.Guard{Audit: st, Idem: st, Now: s.now, MaxBody: maxBody}
			r.With(g.Scope(ScopeCreate)).Post("/presentations", httpx.H(h.create))
			r.With(g.Scope(ScopeRead)).Get("/presentations/{id}", httpx.H(h.get))
			r.With(g.Scope(ScopeCreate)).Post("/offline", httpx.H(h.offline))
			r.With(g.Scope(ScopeRead)).Get("/trust-bundle", httpx.H(h.trustBundle))
			r.With(g.Scope(ScopeRead)).Get("/policies", httpx.H(h.policies))
		})
	})
}

type handlers struct {
	s       *Service
	maxBody int64
}

func tenant(r *http.Request) string {
	p, _ := httpx.PrincipalFrom(r.Context())
	return p.TenantID
}

func (h handlers) create(w http.ResponseWriter, r *http.Request) error {
	var req CreateRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	c, err := h.s.Create(r.Context(), tenant(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/verifier/v1/presentations/"+c.TransactionID)
	return httpx.JSON(w, http.StatusCreated, c)
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var wait time.Duration
	if ws := q.Get("wait"); ws != "" {
		n, err := strconv.Atoi(ws)
		if err != nil || n < 0 || n > 3600 {
			return httpx.ErrInvalidQuery.With("wait is a number of seconds", nil)
		}
		wait = time.Duration(n) * time.Second
	}
	v, err := h.s.Get(r.Context(), tenant(r), chi.URLParam(r, "id"), wait, q.Get("response_code"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, v)
}

func (h handlers) policies(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.s.Policies(tenant(r))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"policies": ps})
}

// form reads a wallet's application/x-www-form-urlencoded body.
func (h handlers) form(r *http.Request) (url.Values, error) {
	if err := httpx.RequireMediaType(r, "application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	body, err := httpx.ReadBody(r, maxFormBody)
	if err != nil {
		return nil, err
	}
	v, err := parseForm(body) // url.ParseQuery's pairs, over body
	if err != nil {
		return nil, oid4vp.InvalidRequest("the body is not a form")
	}
	return v, nil
}

func (h handlers) requestObject(w http.ResponseWriter, r *http.Request) error {
	var walletNonce string
	if r.Method == http.MethodPost {
		f, err := h.form(r)
		if err != nil {
			return err
		}
		if len(f["wallet_nonce"]) > 1 {
			return oid4vp.InvalidRequest("wallet_nonce appears more than once")
		}
		walletNonce = f.Get("wallet_nonce")
	}
	tok, err := h.s.RequestObject(r.Context(), chi.URLParam(r, "request"), walletNonce)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", RequestObjectMediaType)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(tok))
	return err
}

func (h handlers) response(w http.ResponseWriter, r *http.Request) error {
	f, err := h.form(r)
	if err != nil {
		return err
	}
	a, err := h.s.Respond(r.Context(), chi.URLParam(r, "request"), f)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, a)
}

func (h handlers) offline(w http.ResponseWriter, r *http.Request) error {
	var req OfflineRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	v, err := h.s.Offline(r.Context(), tenant(r), req)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, v)
}

func (h handlers) trustBundle(w http.ResponseWriter, r *http.Request) error {
	b, err := h.s.TrustBundle(r.Context(), tenant(r))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]string{"bundle": b})
}
