package verifier

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"

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
	// MaxLists caps the status lists one bundle carries; 0 means 4,096.
	// Lists over it (or over the bundle's size budget) are left out and
	// recorded in the bundle (bundle.MissingOverLimit), never silently.
	MaxLists int
}

// ErrBundleUnavailable: the bundle could not be built.
var ErrBundleUnavailable = errs.E(errs.Unavailable, "bundle_unavailable", "the trust bundle could not be built")

// maxFetch caps one answer the builder reads; maxBundleLists the status
// lists one bundle carries by default, and those noteList remembers;
// maxBundlePayload the JSON content of a bundle, so that the signed bundle
// (base64url, with its header and signature) stays under bundle.MaxSize,
// which a venue opens.
const (
	maxFetch         = 16 << 20
	maxBundleLists   = 4096
	maxBundlePayload = bundle.MaxSize/4*3 - 64<<10
	// maxListURI caps a list URI an index may name (one the bundle
	// carries or records as missing).
	maxListURI = 2048
)

// bundleGaps counts the gaps recorded in the trust bundles this verifier
// made, by reason (bundle.Missing*): a metric for the operator, with no
// issuer or list in it. The zero value is ready.
type bundleGaps struct {
	once sync.Once
	vec  *prometheus.CounterVec
}

func (g *bundleGaps) counter() *prometheus.CounterVec {
	g.once.Do(func() {
		g.vec = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssi_trust_bundle_gaps_total",
			Help: "Gaps (issuers or status lists left out) recorded in the trust bundles made, by reason.",
		}, []string{"reason"})
	})
	return g.vec
}

// Collectors are the verifier's metrics, for the server's registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.gaps.counter()}
}

// httpStatusError is an answer other than 200 to the bundle builder.
type httpStatusError struct {
	url  string
	code int
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("%s answered %d", e.url, e.code) }

// noteList remembers a status list a presentation named, for the bundle.
// Past maxBundleLists lists it keeps no more (nor a URI over maxListURI
// bytes), and remembers instead that the issuer has lists it did not keep, which the bundle then records
// (bundle.MissingOverLimit).
func (s *Service) noteList(issuer, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists == nil {
		s.lists, s.listsFull = map[string]string{}, map[string]bool{}
	}
	if _, ok := s.lists[uri]; ok {
		return
	}
	if len(s.lists) < maxBundleLists && len(uri) <= maxListURI {
		s.lists[uri] = issuer
	} else if len(s.listsFull) < maxBundleLists {
		s.listsFull[issuer] = true
	}
}

// TrustBundle builds and signs (with the venue's key) the trust bundle of
// the venue of tenantID for its first policy: the pinned validators; for
// each issuer the policy names (Policy.Issuers) its current DID document
// with anchor receipt and latest-version proof, and its accreditation
// records in force now, as the registry serves them (bundleIssuer: an
// issuer the registry does not answer for with what verifies is left out,
// with its lists, and recorded as bundle.MissingIssuer; when that is every
// issuer, ErrBundleUnavailable, so that the venue keeps its last bundle); the latest anchored
// version of every status list of those issuers (bundleLists: those the
// configured status-list indexes name, and those a presentation at this
// verifier named since it started; a list with nothing anchored yet is
// left out), as each issuer serves it, and a Missing record for each gap
// in them (see bundleStatusLists); the policy with its vaccination
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
	var issuers []string // those in the bundle
	for _, iss := range p.Issuers {
		if err := s.bundleIssuer(b, iss, p.VCTs, get); err != nil {
			s.log.WarnContext(ctx, "trust bundle: an issuer left out", "issuer", iss, "reason", bundle.MissingIssuer, "error", err)
			b.Missing = append(b.Missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingIssuer})
			continue
		}
		issuers = append(issuers, iss)
	}
	if err := ctx.Err(); err != nil {
		return "", ErrBundleUnavailable.With("", err)
	}
	if len(issuers) == 0 && len(p.Issuers) > 0 {
		// The registry answered for none: a bundle of no issuer would
		// only replace the venue's last good one.
		return "", ErrBundleUnavailable.With("the registry did not answer for any of the policy's issuers", nil)
	}
	if err := s.bundleStatusLists(ctx, b, issuers, get); err != nil {
		return "", err
	}
	for _, m := range b.Missing {
		s.gaps.counter().WithLabelValues(m.Reason).Inc()
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

// bundleIssuer puts into b the issuer iss as the registry serves it: its
// current DID document with its anchor, and its accreditation records in
// force now for each of vcts, with theirs; or nothing, and the reason,
// when the registry does not answer with what verifies (bundle.VerifyIssuer:
// a document or record whose anchor is pending or does not verify).
func (s *Service) bundleIssuer(b *bundle.Bundle, iss string, vcts []string, get func(u, accept string, into any) error) error {
	var r struct {
		Document jsontext.Value `json:"didDocument"`
		Meta     struct {
			VersionID string        `json:"versionId"`
			Anchor    *trust.Anchor `json:"anchor"`
		} `json:"didDocumentMetadata"`
	}
	if err := get(b.Registry+"/1.0/identifiers/"+iss, trust.MediaResolution, &r); err != nil {
		return err
	}
	var version uint64
	if _, err := fmt.Sscan(r.Meta.VersionID, &version); err != nil || r.Meta.Anchor == nil {
		return fmt.Errorf("the issuer's DID is not anchored: %w", err)
	}
	is := bundle.Issuer{DID: iss, Document: []byte(r.Document), Version: version, Anchor: *r.Meta.Anchor}
	var accs []trust.Evidence
	for _, vct := range vcts {
		var ev struct {
			Evidence []trust.Evidence `json:"evidence"`
		}
		q := url.Values{"issuer": {iss}, "vct": {vct}, "at": {b.IssuedAt.Format(time.RFC3339Nano)}}
		if err := get(b.Registry+"/registry/v1/trust/issuers?"+q.Encode(), "application/json", &ev); err != nil {
			return err
		}
		for _, e := range ev.Evidence {
			if e.Anchor.Receipt != nil && e.Anchor.Next == nil {
				accs = append(accs, trust.Evidence{Record: e.Record, Anchor: e.Anchor})
			}
		}
	}
	if err := bundle.VerifyIssuer(b, is, accs); err != nil {
		return err
	}
	b.Issuers = append(b.Issuers, is)
	b.Accreditations = append(b.Accreditations, accs...)
	return nil
}

// bundleStatusLists puts into b the latest anchored version of each
// status list of issuers (bundleLists), within the bundle's limits, and a
// Missing record for each gap, so that one issuer's index or list that
// misbehaves costs the venue that issuer's lists, not the whole bundle:
// a list whose latest version answers 404 (nothing anchored yet) is left
// out, as no venue could check it; one that cannot be fetched
// (MissingList), is served with its anchor pending (MissingPending) or
// does not verify (MissingUnverified) is recorded; lists over MaxLists or
// over the size budget are left out and their issuer recorded
// (MissingOverLimit). Each gap is logged (issuer, list, reason: nothing
// personal). Errors: a status index that is not an absolute URL (the
// configuration), no status index answering at all (bundleLists), or ctx
// ending.
func (s *Service) bundleStatusLists(ctx context.Context, b *bundle.Bundle, issuers []string, get func(u, accept string, into any) error) error {
	bc := s.cfg.Bundle
	maxLists := bc.MaxLists
	if maxLists <= 0 {
		maxLists = maxBundleLists
	}
	lists, missing, err := s.bundleLists(issuers, bc.StatusIndexes, maxLists, get)
	if err != nil {
		return ErrBundleUnavailable.With("", err)
	}
	gap := func(iss, uri, reason string, err error) {
		missing = append(missing, bundle.Missing{Issuer: iss, URI: uri, Reason: reason})
		s.log.WarnContext(ctx, "trust bundle: a status list left out", "issuer", iss, "list", uri, "reason", reason, "error", err)
	}
	for _, uri := range slices.Sorted(maps.Keys(lists)) {
		iss := lists[uri]
		var sl trust.StatusListVersion
		err := get(strings.TrimRight(uri, "/")+"/latest", "application/json", &sl)
		var se *httpStatusError
		switch {
		case errors.As(err, &se) && se.code == http.StatusNotFound:
			continue // nothing anchored yet: no venue could check it
		case err != nil:
			gap(iss, uri, bundle.MissingList, err)
		case sl.Anchor.Receipt == nil || sl.Anchor.Latest == nil:
			gap(iss, uri, bundle.MissingPending, nil)
		default:
			b.StatusLists = append(b.StatusLists, bundle.StatusList{Issuer: iss, URI: uri, Version: sl.Version, Token: sl.Token, Anchor: sl.Anchor})
		}
	}
	if err := ctx.Err(); err != nil {
		return ErrBundleUnavailable.With("", err)
	}
	kept := b.StatusLists[:0]
	for i, err := range bundle.VerifyStatusLists(b) {
		if sl := b.StatusLists[i]; err != nil {
			gap(sl.Issuer, sl.URI, bundle.MissingUnverified, err)
		} else {
			kept = append(kept, sl)
		}
	}
	b.StatusLists = kept
	b.Missing = append(b.Missing, missing...) // counted in the budget: at most maxLists records of a list, and a few an issuer
	for _, iss := range fitLists(b, maxBundlePayload) {
		b.Missing = append(b.Missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingOverLimit})
	}
	b.Missing = slices.CompactFunc(sortMissing(b.Missing), func(a, b bundle.Missing) bool { return a == b })
	for _, m := range b.Missing {
		if m.Reason == bundle.MissingOverLimit {
			s.log.WarnContext(ctx, "trust bundle: an issuer's status lists over the bundle's limit left out", "issuer", m.Issuer, "max_lists", maxLists)
		}
	}
	return nil
}

// sortMissing sorts records by issuer, URI and reason.
func sortMissing(m []bundle.Missing) []bundle.Missing {
	slices.SortFunc(m, func(a, b bundle.Missing) int {
		return cmp.Or(strings.Compare(a.Issuer, b.Issuer), strings.Compare(a.URI, b.URI), strings.Compare(a.Reason, b.Reason))
	})
	return m
}

// fitLists keeps, in order, the status lists of b whose JSON fits in
// budget bytes of content with the rest of b, and returns the issuers of
// those it left out.
func fitLists(b *bundle.Bundle, budget int) []string {
	all := b.StatusLists
	b.StatusLists = nil
	base, err := json.Marshal(b)
	size := len(base)
	if err != nil {
		size = budget // cannot happen (Sign would fail too): keep none
	}
	var over []string
	for _, sl := range all {
		j, err := json.Marshal(&sl)
		if err != nil || size+len(j)+1 > budget {
			if !slices.Contains(over, sl.Issuer) {
				over = append(over, sl.Issuer)
			}
			continue
		}
		size += len(j) + 1
		b.StatusLists = append(b.StatusLists, sl)
	}
	return over
}

// bundleLists returns the status lists (URI → issuer) of the issuers a
// bundle is for: every list each status index names for each of them, and
// every list of theirs a presentation at this verifier named since it
// started, at most maxLists; and a Missing record for each issuer whose
// lists it cannot know whole: an index that does not answer for it, or
// names a list of another origin (an index speaks for its service, not for
// others: that list is not taken) or a URI over maxListURI bytes, is
// MissingIndex; an issuer with lists
// over maxLists, or with lists noteList did not keep, MissingOverLimit.
// Errors: an index that is not an absolute URL; indexes configured of
// which none answered for any issuer.
func (s *Service) bundleLists(issuers, indexes []string, maxLists int, get func(u, accept string, into any) error) (map[string]string, []bundle.Missing, error) {
	lists := map[string]string{}
	var missing []bundle.Missing
	add := func(uri, iss string) {
		if _, ok := lists[uri]; ok {
			return
		}
		if len(lists) >= maxLists {
			missing = append(missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingOverLimit})
			return
		}
		lists[uri] = iss
	}
	answered := false
	for _, ix := range indexes {
		base, err := url.Parse(ix)
		if err != nil || base.Host == "" {
			return nil, nil, fmt.Errorf("status index %q is not an absolute URL", ix)
		}
		for _, iss := range issuers {
			var r struct {
				Lists []string `json:"status_lists"`
			}
			if err := get(ix+"?"+url.Values{"issuer": {iss}}.Encode(), "application/json", &r); err != nil {
				s.log.Warn("trust bundle: a status index did not answer", "index", ix, "issuer", iss, "reason", bundle.MissingIndex, "error", err)
				missing = append(missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingIndex})
				continue
			}
			answered = true
			for _, uri := range r.Lists {
				u, err := url.Parse(uri)
				if err != nil || len(uri) > maxListURI || u.Scheme != base.Scheme || u.Host != base.Host {
					s.log.Warn("trust bundle: a status index named a list of another origin, or an over-long URI", "index", ix, "issuer", iss, "reason", bundle.MissingIndex)
					missing = append(missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingIndex})
					continue
				}
				add(uri, iss)
			}
		}
	}
	if len(indexes) > 0 && len(issuers) > 0 && !answered {
		// The issuer services are down, not one of them misbehaving: a
		// bundle of no index's lists would only replace the venue's last
		// good one.
		return nil, nil, errors.New("no status index answered for any issuer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, uri := range slices.Sorted(maps.Keys(s.lists)) {
		if iss := s.lists[uri]; slices.Contains(issuers, iss) {
			add(uri, iss)
		}
	}
	for _, iss := range issuers {
		if s.listsFull[iss] {
			missing = append(missing, bundle.Missing{Issuer: iss, Reason: bundle.MissingOverLimit})
		}
	}
	return lists, missing, nil
}
