package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// BundleConfig is what the trust bundle needs beyond Config.
type BundleConfig struct {
	// RegistryURL is the registry's public URL.
	RegistryURL string
	// Pinned is the ledger's validator set the bundle carries.
	Pinned trust.Trust
	// HTTP fetches the registry's and the issuers' answers; nil: a client
	// with a 10 s timeout.
	HTTP *http.Client
	// MaxAge is the bundle's maximum age; 0 means 24 hours.
	MaxAge time.Duration
	// StatusIndexes are issuers' status-list indexes (GET /status of an
	// issuer service, e.g. https://issuer.example/status): the bundle
	// asks each for the lists of every issuer its policy names, so that it
	// carries all their current lists, not only those a presentation named.
	StatusIndexes []string
}

// ErrBundleUnavailable: the bundle could not be built.
var ErrBundleUnavailable = errs.E(errs.Unavailable, "bundle_unavailable", "the trust bundle could not be built")

// maxFetch caps one answer the builder reads; maxBundleLists the status
// lists one bundle carries.
const (
	maxFetch       = 16 << 20
	maxBundleLists = 4096
)

// httpStatusError is an answer other than 200 to the bundle builder.
type httpStatusError struct {
	url  string
	code int
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("%s answered %d", e.url, e.code) }

// noteList remembers a status list a presentation named, for the bundle.
func (s *Service) noteList(issuer, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists == nil {
		s.lists = map[string]string{}
	}
	if len(s.lists) < 4096 {
		s.lists[uri] = issuer
	}
}

// TrustBundle builds and signs (with the venue's key) the trust bundle of
// the venue of tenantID for its first policy: the pinned validators; for
// each issuer the policy names (Policy.Issuers) its current DID document
// with anchor receipt and latest-version proof, and its accreditation
// records in force now, as the registry serves them; the latest anchored
// version of every status list of those issuers (bundleLists: those the
// configured status-list indexes name, and those a presentation at this
// verifier named since it started; a list with nothing anchored yet is
// left out), as each issuer serves it; the policy with its vaccination
// rule; and the venue's pass trust (Venue.Passes, as the files it was
// loaded from: a TrustSet not made by TrustSources.Load carries none).
// The bundle is opened (bundle.Open: every piece verified down to
// the pinned validators) before it is returned, so a verifier never signs
// what an offline venue must refuse. A policy that names no issuer gives a
// bundle no QR code passes.
func (s *Service) TrustBundle(ctx context.Context, tenantID string) (string, error) {
	v, err := s.venue(tenantID)
	if err != nil {
		return "", err
	}
	bc := s.cfg.Bundle
	if bc == nil || bc.RegistryURL == "" {
		return "", ErrBundleUnavailable.With("this verifier is not configured for trust bundles", nil)
	}
	hc := bc.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	maxAge := bc.MaxAge
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	p := &v.Policies[0]
	now := s.now().UTC()
	b := &bundle.Bundle{Verifier: v.DID, IssuedAt: now, MaxAge: int64(maxAge / time.Second),
		Registry: strings.TrimSuffix(bc.RegistryURL, "/"), Trust: bc.Pinned,
		Policy: bundle.Policy{VCTs: p.VCTs, Rule: p.conds, Show: p.Show, Vaccination: p.Vaccination}}
	if v.Passes != nil {
		src := v.Passes.Sources()
		b.Passes = &src
	}
	for _, cq := range p.query.Credentials {
		for _, c := range cq.Claims {
			if n := c.Path.Name(); !slices.Contains(b.Policy.Claims, n) {
				b.Policy.Claims = append(b.Policy.Claims, n)
			}
		}
	}
	get := func(u, accept string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", accept)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &httpStatusError{url: u, code: resp.StatusCode}
		}
		return jsonx.Unmarshal(body, into, false)
	}
	for _, iss := range p.Issuers {
		var r struct {
			Document jsontext.Value `json:"didDocument"`
			Meta     struct {
				VersionID string        `json:"versionId"`
				Anchor    *trust.Anchor `json:"anchor"`
			} `json:"didDocumentMetadata"`
		}
		if err := get(b.Registry+"/1.0/identifiers/"+iss, trust.MediaResolution, &r); err != nil {
			return "", ErrBundleUnavailable.With("", err)
		}
		var version uint64
		if _, err := fmt.Sscan(r.Meta.VersionID, &version); err != nil || r.Meta.Anchor == nil {
			return "", ErrBundleUnavailable.With("an issuer's DID is not anchored", err)
		}
		b.Issuers = append(b.Issuers, bundle.Issuer{DID: iss, Document: []byte(r.Document), Version: version, Anchor: *r.Meta.Anchor})
		for _, vct := range p.VCTs {
			var ev struct {
				Evidence []trust.Evidence `json:"evidence"`
			}
			q := url.Values{"issuer": {iss}, "vct": {vct}, "at": {now.Format(time.RFC3339Nano)}}
			if err := get(b.Registry+"/registry/v1/trust/issuers?"+q.Encode(), "application/json", &ev); err != nil {
				return "", ErrBundleUnavailable.With("", err)
			}
			for _, e := range ev.Evidence {
				if e.Anchor.Receipt != nil && e.Anchor.Next == nil {
					b.Accreditations = append(b.Accreditations, trust.Evidence{Record: e.Record, Anchor: e.Anchor})
				}
			}
		}
	}
	lists, err := s.bundleLists(p.Issuers, bc.StatusIndexes, get)
	if err != nil {
		return "", ErrBundleUnavailable.With("", err)
	}
	uris := slices.Sorted(maps.Keys(lists))
	for _, uri := range uris {
		iss := lists[uri]
		var sl trust.StatusListVersion
		err := get(strings.TrimRight(uri, "/")+"/latest", "application/json", &sl)
		var se *httpStatusError
		if errors.As(err, &se) && se.code == http.StatusNotFound {
			continue // nothing anchored yet: no venue could check it
		}
		if err != nil {
			return "", ErrBundleUnavailable.With("", err)
		}
		if sl.Anchor.Receipt == nil || sl.Anchor.Latest == nil {
			continue // served with its anchor pending: as not anchored yet
		}
		b.StatusLists = append(b.StatusLists, bundle.StatusList{Issuer: iss, URI: uri, Version: sl.Version, Token: sl.Token, Anchor: sl.Anchor})
	}
	signed, err := bundle.Sign(v.Signer, v.KeyID, b)
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "", err)
	}
	if _, err := bundle.Open(signed, jose.PublicKey{Key: v.Signer.Public(), Alg: v.Signer.Algorithm()}); err != nil {
		return "", ErrBundleUnavailable.With("what the registry and the issuers served does not verify", err)
	}
	return signed, nil
}

// bundleLists returns the status lists (URI → issuer) of the issuers a
// bundle is for: every list each status index names for each of them, and
// every list of theirs a presentation at this verifier named since it
// started, at most maxBundleLists. An index may name only lists under its
// own origin (it speaks for its service, not for others); an index that
// does not answer fails the bundle, so that a venue is not handed a
// bundle that silently lacks an issuer's revocations.
func (s *Service) bundleLists(issuers, indexes []string, get func(u, accept string, into any) error) (map[string]string, error) {
	lists := map[string]string{}
	for _, ix := range indexes {
		base, err := url.Parse(ix)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("status index %q is not an absolute URL", ix)
		}
		for _, iss := range issuers {
			var r struct {
				Lists []string `json:"status_lists"`
			}
			if err := get(ix+"?"+url.Values{"issuer": {iss}}.Encode(), "application/json", &r); err != nil {
				return nil, err
			}
			for _, uri := range r.Lists {
				u, err := url.Parse(uri)
				if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
					return nil, fmt.Errorf("status index %s names a list of another origin", ix)
				}
				if len(lists) < maxBundleLists {
					lists[uri] = iss
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for uri, iss := range s.lists {
		if _, ok := lists[uri]; !ok && slices.Contains(issuers, iss) && len(lists) < maxBundleLists {
			lists[uri] = iss
		}
	}
	return lists, nil
}
