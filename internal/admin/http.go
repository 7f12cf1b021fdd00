package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/store"
)

// HTTPStore is what the admin routes need from the store beyond Service.
type HTTPStore interface {
	httpx.KeyStore
	httpx.Auditor
	httpx.IdemStore
}

// Routes mounts the admin API under r (which the caller mounts at
// /admin/v1). Every route needs an API key; each needs its own scope.
func Routes(r chi.Router, svc *Service, st HTTPStore, maxBody int64) {
	r.Use(httpx.Authenticate(st))
	g := httpx.Guard{Audit: st, Idem: st, Now: svc.Now, MaxBody: maxBody}

	h := handlers{svc: svc, maxBody: maxBody}
	r.Get("/whoami", httpx.H(h.whoami))
	r.With(g.Scope(ScopeKeysManage)).Post("/keys", httpx.H(h.createKey))
	r.With(g.Scope(ScopeKeysManage)).Get("/keys/{id}", httpx.H(h.getKey))
	r.With(g.Scope(ScopeKeysManage)).Delete("/keys/{id}", httpx.H(h.revokeKey))
	r.With(g.Scope(ScopeAuditRead)).Get("/audit", httpx.H(h.listAudit))
}

type handlers struct {
	svc     *Service
	maxBody int64
}

func actor(r *http.Request) (httpx.Principal, Actor) {
	p, _ := httpx.PrincipalFrom(r.Context())
	return p, Actor{TenantID: p.TenantID, ID: p.KeyID, RequestID: httpx.RequestID(r.Context())}
}

// WhoAmI is the caller as its API key says: a page shows it after sign-in
// (which actions the key may take); any valid key may read its own.
type WhoAmI struct {
	Tenant string   `json:"tenant"`
	KeyID  string   `json:"key_id"`
	Scopes []string `json:"scopes"`
}

func (h handlers) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := actor(r)
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return httpx.JSON(w, http.StatusOK, WhoAmI{Tenant: p.TenantID, KeyID: p.KeyID, Scopes: scopes})
}

// KeyView is an API key as the API shows it: never its hash.
type KeyView struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Key       string     `json:"key,omitempty"` // only in the creation response
}

func view(k store.APIKey) KeyView {
	v := KeyView{ID: k.ID, Tenant: k.TenantID, Scopes: k.Scopes, CreatedAt: k.CreatedAt}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt
		v.RevokedAt = &t
	}
	return v
}

type createKeyRequest struct {
	Scopes []string `json:"scopes"`
}

func (h handlers) createKey(w http.ResponseWriter, r *http.Request) error {
	var req createKeyRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	p, a := actor(r)
	presented, rec, err := h.svc.CreateKey(r.Context(), a, p.TenantID, req.Scopes, p.Scopes)
	if err != nil {
		return err
	}
	v := view(rec)
	v.Key = presented // shown once: never cached (httpx.SecurityHeaders)
	return httpx.JSON(w, http.StatusCreated, v)
}

func (h handlers) getKey(w http.ResponseWriter, r *http.Request) error {
	p, _ := actor(r)
	k, err := h.svc.GetKey(r.Context(), p.TenantID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, view(k))
}

func (h handlers) revokeKey(w http.ResponseWriter, r *http.Request) error {
	p, a := actor(r)
	if err := h.svc.RevokeKey(r.Context(), a, p.TenantID, chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditView is one audit record as the API shows it.
type AuditView struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Outcome   string    `json:"outcome"`
}

func intParam(r *http.Request, name string, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, httpx.ErrInvalidQuery.With(name+" must be an integer from 0 to "+strconv.FormatInt(max, 10), nil)
	}
	return n, nil
}

func (h handlers) listAudit(w http.ResponseWriter, r *http.Request) error {
	before, err := intParam(r, "before", 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 500)
	if err != nil {
		return err
	}
	p, _ := actor(r)
	recs, err := h.svc.Audit(r.Context(), p.TenantID, before, int(limit))
	if err != nil {
		return err
	}
	out := struct {
		Records []AuditView `json:"records"`
	}{Records: make([]AuditView, 0, len(recs))}
	for _, rec := range recs {
		out.Records = append(out.Records, AuditView{ID: rec.ID, Time: rec.Time, Actor: rec.Actor,
			Action: rec.Action, Target: rec.Target, RequestID: rec.RequestID, Outcome: rec.Outcome})
	}
	return httpx.JSON(w, http.StatusOK, out)
}
