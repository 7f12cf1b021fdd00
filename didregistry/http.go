package didregistry

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/trust"
)

// HTTPStore is what the registry routes need for auth, audit and
// idempotency.
type HTTPStore interface {
	httpx.KeyStore
	httpx.Auditor
	httpx.IdemStore
}

// Media types of resolution responses.
const (
	MediaResolution = `application/ld+json;profile="https://w3id.org/did-resolution"`
	MediaDIDJSON    = did.MediaTypeDIDJSON
)

type handlers struct {
	svc     *Service
	others  did.Resolver // did:key, did:jwk, did:web
	maxBody int64
}

// Routes mounts the resolver at /1.0/identifiers and the registry API at
// /registry/v1 on r. Reads are public (verifiers and wallets use them);
// writes need an API key with the right scope.
func Routes(r chi.Router, svc *Service, others did.Resolver, st HTTPStore, maxBody int64) {
	h := handlers{svc: svc, others: others, maxBody: maxBody}
	r.Get("/1.0/identifiers/{did}", httpx.H(h.resolve))
	r.Route("/registry/v1", func(r chi.Router) {
		r.Get("/accreditations", httpx.H(h.listAccreditations))
		r.Get("/accreditations/{id}", httpx.H(h.getAccreditation))
		r.Get("/relying-parties/{id}", httpx.H(h.getRP))
		r.Get("/trust/issuers", httpx.H(h.checkIssuer))
		r.Get("/trust/relying-parties", httpx.H(h.checkRP))
		r.Get("/dids/{did}/operations", httpx.H(h.operations))
		r.Group(func(r chi.Router) {
			r.Use(httpx.Authenticate(st))
			g := httpx.Guard{Audit: st, Idem: st, Now: svc.cfg.Now, MaxBody: maxBody}
			r.With(g.Scope(admin.ScopeDIDsManage)).Post("/dids", httpx.H(h.createDID))
			r.With(g.Scope(admin.ScopeDIDsManage)).Post("/dids/{did}/operations", httpx.H(h.updateDID))
			r.With(g.Scope(admin.ScopeRegistryAdmin)).Post("/accreditations", httpx.H(h.accredit))
			r.With(g.Scope(admin.ScopeRegistryAdmin)).Post("/accreditations/{id}/{action}", httpx.H(h.changeAccreditation))
			r.With(g.Scope(admin.ScopeRPManage)).Post("/relying-parties/challenges", httpx.H(h.rpChallenge))
			r.With(g.Scope(admin.ScopeRPManage)).Post("/relying-parties", httpx.H(h.registerRP))
			r.With(g.Scope(admin.ScopeRPManage)).Get("/relying-parties", httpx.H(h.listRPs))
			r.With(g.Scope(admin.ScopeRegistryAdmin)).Post("/relying-parties/{id}/{action}", httpx.H(h.decideRP))
		})
	})
}

func actorOf(r *http.Request) Actor {
	p, _ := httpx.PrincipalFrom(r.Context())
	return Actor{TenantID: p.TenantID, ID: p.KeyID, RequestID: httpx.RequestID(r.Context())}
}

// didParam returns the DID in the path. chi gives the raw (escaped) path
// segment, which for did:web with a port holds %3A as part of the DID; a
// DID sent fully escaped is unescaped once.
func didParam(r *http.Request) (string, error) {
	s := chi.URLParam(r, "did")
	if !strings.HasPrefix(s, "did:") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return "", did.ErrInvalidDID
		}
		s = u
	}
	if len(s) > did.MaxLength {
		return "", did.ErrInvalidDID.With("the DID is too long", nil)
	}
	return s, nil
}

// clientSafe turns the did:web fetch refusals, which are about the input,
// into 400s: a resolver endpoint never reaches private addresses and says so.
func clientSafe(err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Kind == errs.Forbidden && e.Code != "not_controller" {
		c := *e
		c.Kind = errs.Invalid
		return &c
	}
	return err
}

func parseTime(s, name string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, httpx.ErrInvalidQuery.With(name+" must be an RFC 3339 time", nil)
	}
	return t, nil
}

type resolutionBody struct {
	Document           json.RawMessage    `json:"didDocument"`
	DocumentMetadata   documentMetadata   `json:"didDocumentMetadata"`
	ResolutionMetadata resolutionMetadata `json:"didResolutionMetadata"`
}

// encode writes the resolution with the stored document bytes verbatim:
// clients hash them and compare with the anchored hash, so no encoder may
// re-escape or reformat them.
func (b resolutionBody) encode() ([]byte, error) {
	meta, err := json.Marshal(b.DocumentMetadata)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	rmeta, err := json.Marshal(b.ResolutionMetadata)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	out := make([]byte, 0, len(b.Document)+len(meta)+len(rmeta)+80)
	out = append(out, `{"didDocument":`...)
	out = append(out, b.Document...)
	out = append(out, `,"didDocumentMetadata":`...)
	out = append(out, meta...)
	out = append(out, `,"didResolutionMetadata":`...)
	out = append(out, rmeta...)
	return append(out, '}', '\n'), nil
}

type documentMetadata struct {
	VersionID   string        `json:"versionId,omitempty"`
	Created     *time.Time    `json:"created,omitempty"`
	Updated     *time.Time    `json:"updated,omitempty"`
	Deactivated bool          `json:"deactivated,omitempty"`
	Anchor      *AnchorStatus `json:"anchor,omitempty"`
}

type resolutionMetadata struct {
	ContentType string `json:"contentType"`
	Error       string `json:"error,omitempty"`
}

func wantsDocumentOnly(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	return strings.Contains(acc, MediaDIDJSON) && !strings.Contains(acc, "did-resolution")
}

func (h handlers) resolve(w http.ResponseWriter, r *http.Request) error {
	d, err := didParam(r)
	if err != nil {
		return err
	}
	parsed, err := did.Parse(d)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var opts ResolveOptions
	if s := q.Get("versionId"); s != "" {
		n, err := strconv.ParseUint(s, 10, 53)
		if err != nil || n == 0 {
			return httpx.ErrInvalidQuery.With("versionId must be a positive integer", nil)
		}
		opts.VersionID = n
	}
	if s := q.Get("versionTime"); s != "" {
		if opts.VersionTime, err = parseTime(s, "versionTime"); err != nil {
			return err
		}
	}
	if opts.VersionID > 0 && !opts.VersionTime.IsZero() {
		return httpx.ErrInvalidQuery.With("give versionId or versionTime, not both", nil)
	}
	body := resolutionBody{ResolutionMetadata: resolutionMetadata{ContentType: MediaDIDJSON}}
	status := http.StatusOK
	if parsed.Method == Method {
		res, err := h.svc.ResolveDID(r.Context(), d, opts)
		if err != nil {
			return err
		}
		if err := h.svc.proveResolution(r.Context(), res); err != nil {
			return err
		}
		created, updated := res.Created, res.Version.CreatedAt
		body.Document = res.Document
		body.DocumentMetadata = documentMetadata{
			VersionID: strconv.FormatUint(res.Version.Version, 10), Created: &created, Updated: &updated,
			Deactivated: res.State.Deactivated, Anchor: &res.Anchor,
		}
		if res.State.Deactivated {
			status = http.StatusGone
			body.ResolutionMetadata.Error = "deactivated"
		}
	} else {
		if opts.VersionID > 0 || !opts.VersionTime.IsZero() {
			return httpx.ErrInvalidQuery.With("versionId and versionTime apply to did:"+Method+" only", nil)
		}
		res, err := h.others.Resolve(r.Context(), d, did.ResolveOptions{})
		if err != nil {
			return clientSafe(err)
		}
		doc, err := json.Marshal(res.Document)
		if err != nil {
			return errs.Wrap(errs.Internal, "", "", err)
		}
		body.Document = doc
	}
	if wantsDocumentOnly(r) && status == http.StatusOK {
		w.Header().Set("Content-Type", MediaDIDJSON)
		_, err := w.Write(body.Document)
		return err
	}
	b, err := body.encode()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", MediaResolution)
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// OperationsView is the chain of a did:psr DID's operations (see
// Service.Operations).
type OperationsView struct {
	DID        string   `json:"did"`
	Operations []string `json:"operations"`
}

func (h handlers) operations(w http.ResponseWriter, r *http.Request) error {
	d, err := didParam(r)
	if err != nil {
		return err
	}
	v, err := versionParam(r)
	if err != nil {
		return err
	}
	ops, err := h.svc.Operations(r.Context(), d, v)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, OperationsView{DID: d, Operations: ops})
}

type operationRequest struct {
	Operation string `json:"operation"`
}

// DIDView is the answer to a DID write.
type DIDView struct {
	DID         string          `json:"did"`
	Version     uint64          `json:"version"`
	Deactivated bool            `json:"deactivated,omitempty"`
	Document    json.RawMessage `json:"didDocument"`
}

func didView(st *State) (DIDView, error) {
	doc, err := st.DocumentBytes()
	return DIDView{DID: st.DID, Version: st.Version, Deactivated: st.Deactivated, Document: doc}, err
}

func (h handlers) createDID(w http.ResponseWriter, r *http.Request) error {
	var req operationRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	st, err := h.svc.CreateDID(r.Context(), actorOf(r), req.Operation)
	if err != nil {
		return err
	}
	v, err := didView(st)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/1.0/identifiers/"+st.DID)
	return httpx.JSON(w, http.StatusCreated, v)
}

func (h handlers) updateDID(w http.ResponseWriter, r *http.Request) error {
	d, err := didParam(r)
	if err != nil {
		return err
	}
	var req operationRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	st, err := h.svc.UpdateDID(r.Context(), actorOf(r), d, req.Operation)
	if err != nil {
		return err
	}
	v, err := didView(st)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, v)
}

type accreditRequest struct {
	Issuer     string    `json:"issuer"`
	VCT        []string  `json:"vct"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// recordView wraps a record with its anchor status.
type recordView struct {
	Record any           `json:"record"`
	Anchor *AnchorStatus `json:"anchor,omitempty"`
}

func (h handlers) accredit(w http.ResponseWriter, r *http.Request) error {
	var req accreditRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	acc, err := h.svc.Accredit(r.Context(), actorOf(r), req.Issuer, req.VCT, req.ValidFrom, req.ValidUntil)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, recordView{Record: acc})
}

func (h handlers) changeAccreditation(w http.ResponseWriter, r *http.Request) error {
	var req reasonRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	acc, err := h.svc.ChangeAccreditation(r.Context(), actorOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "action"), req.Reason)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, recordView{Record: acc})
}

func versionParam(r *http.Request) (uint64, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 53)
	if err != nil || n == 0 {
		return 0, httpx.ErrInvalidQuery.With("version must be a positive integer", nil)
	}
	return n, nil
}

func (h handlers) getAccreditation(w http.ResponseWriter, r *http.Request) error {
	v, err := versionParam(r)
	if err != nil {
		return err
	}
	acc, as, err := h.svc.GetAccreditation(r.Context(), chi.URLParam(r, "id"), v)
	if err != nil {
		return err
	}
	if _, err := h.svc.proveRecord(r.Context(), KindAccreditation, acc.ID, acc.Version, &as); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, recordView{Record: acc, Anchor: &as})
}

func (h handlers) listAccreditations(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.ListAccreditations(r.Context(), r.URL.Query().Get("issuer"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []Accreditation{}
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"accreditations": list})
}

func (h handlers) checkIssuer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	at := h.svc.cfg.Now() // the service's clock, which its writes use too
	if s := q.Get("at"); s != "" {
		var err error
		if at, err = parseTime(s, "at"); err != nil {
			return err
		}
	}
	d, ev, err := h.svc.IsAccredited(r.Context(), q.Get("issuer"), q.Get("vct"), at)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, accreditationAnswer{Decision: d, Evidence: nonNil(ev)})
}

type registerRPRequest struct {
	Verifier    string         `json:"verifier"`
	Name        string         `json:"name"`
	Credentials []RPCredential `json:"credentials"`
	Proof       string         `json:"proof"`
}

type challengeRequest struct {
	Verifier string `json:"verifier"`
}

func (h handlers) rpChallenge(w http.ResponseWriter, r *http.Request) error {
	var req challengeRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	ch, err := h.svc.NewRPChallenge(r.Context(), actorOf(r), req.Verifier)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, ch)
}

func (h handlers) registerRP(w http.ResponseWriter, r *http.Request) error {
	var req registerRPRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	rp, err := h.svc.RegisterRP(r.Context(), actorOf(r), req.Verifier, req.Name, req.Credentials, req.Proof)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, recordView{Record: rp})
}

func (h handlers) decideRP(w http.ResponseWriter, r *http.Request) error {
	var req reasonRequest
	if err := httpx.DecodeJSON(r, &req, h.maxBody); err != nil {
		return err
	}
	rp, err := h.svc.DecideRP(r.Context(), actorOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "action"), req.Reason)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, recordView{Record: rp})
}

func (h handlers) getRP(w http.ResponseWriter, r *http.Request) error {
	v, err := versionParam(r)
	if err != nil {
		return err
	}
	rp, as, err := h.svc.GetRP(r.Context(), chi.URLParam(r, "id"), v)
	if err != nil {
		return err
	}
	if _, err := h.svc.proveRecord(r.Context(), KindRPRegistration, rp.ID, rp.Version, &as); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, recordView{Record: rp, Anchor: &as})
}

func (h handlers) listRPs(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.ListRPs(r.Context(), actorOf(r).TenantID)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"registrations": list})
}

func (h handlers) checkRP(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var claims []string
	for _, c := range strings.Split(q.Get("claims"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			claims = append(claims, c)
		}
	}
	d, ev, err := h.svc.CheckRP(r.Context(), q.Get("verifier"), q.Get("vct"), claims)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, rpAnswer{RPDecision: d, Evidence: nonNil(ev)})
}

// accreditationAnswer and rpAnswer are the registry's decisions with the
// evidence they rest on (trust.Evidence), from which a client recomputes
// them without trusting the registry (trust.Client).
type accreditationAnswer struct {
	Decision
	Evidence []trust.Evidence `json:"evidence"`
}

type rpAnswer struct {
	RPDecision
	Evidence []trust.Evidence `json:"evidence"`
}

func nonNil(ev []trust.Evidence) []trust.Evidence {
	if ev == nil {
		return []trust.Evidence{}
	}
	return ev
}
