package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/trust"
)

// Typ is the JWS typ of a signed trust bundle.
const Typ = "ssi-trust-bundle+jwt"

// Format versions of a bundle's content (its format member):
//   - 1 (the member absent): our own issuers, accreditations, status lists
//     and policy, for SSI1 QR codes;
//   - 2: also the venue's trust for other systems' passes (passes: EU DCC
//     signing certificates and SMART Health Card issuers with their keys
//     and revocation lists) and the policy's vaccination rule.
//
// Open reads both; a bundle of a newer format is refused with
// bundle_format_unsupported (the page needs an upgrade), never read as an
// older one.
const (
	FormatSSI    = 1
	FormatPasses = 2
	// FormatVersion is the format Sign writes.
	FormatVersion = FormatPasses
)

// MaxSize caps a signed bundle Open reads.
const MaxSize = 64 << 20

// ProofMaxAge is how old, when the bundle was made, each latest-version
// proof in it may be: a bundle is a snapshot of the ledger's latest state
// at IssuedAt.
const ProofMaxAge = 5 * time.Minute

// Issuer is an accredited issuer's DID document as its registry served
// it: the exact bytes (whose SHA-256 is anchored), the version, and the
// anchor (receipt and latest-version proof).
type Issuer struct {
	DID      string       `json:"did"`
	Document []byte       `json:"document"`
	Version  uint64       `json:"version"`
	Anchor   trust.Anchor `json:"anchor"`
}

// StatusList is a status list as its issuer served it (trust.StatusListVersion)
// with the issuer that signs it and the URI it is served at.
type StatusList struct {
	Issuer  string       `json:"issuer"`
	URI     string       `json:"uri"`
	Version uint64       `json:"version"`
	Token   string       `json:"token"`
	Anchor  trust.Anchor `json:"anchor"`
}

// Policy is the venue's decision, as the offline check applies it: the
// accepted vcts, the claims that must be disclosed, the rule, and the
// claims shown.
type Policy struct {
	VCTs   []string    `json:"vcts"`
	Claims []string    `json:"claims"`
	Rule   []Condition `json:"rule"`
	Show   []string    `json:"show,omitempty"`
	// Vaccination is the rule for EU DCCs and SMART Health Cards (the
	// online verifier's policy.Vaccination); nil checks that a pass is
	// genuine and valid, and no venue rule (format 2).
	Vaccination *passcheck.Policy `json:"vaccination,omitempty"`
}

// Bundle is the content of a trust bundle.
type Bundle struct {
	// Format is the content's version (FormatSSI when absent); Sign
	// writes FormatVersion.
	Format int `json:"format,omitempty"`
	// Verifier is the venue's DID; an offline KB-JWT's aud is
	// "offline:" + Verifier.
	Verifier string    `json:"verifier"`
	IssuedAt time.Time `json:"issued_at"`
	// MaxAge, in seconds: past IssuedAt + MaxAge every check is
	// bundle_too_old.
	MaxAge int64 `json:"max_age"`
	// Registry is the registry's public URL, under which its records are
	// anchored (record URL = Registry + /registry/v1/accreditations/ID).
	Registry string      `json:"registry"`
	Trust    trust.Trust `json:"trust"`
	Issuers  []Issuer    `json:"issuers"`
	// Accreditations are the issuers' accreditation record versions in
	// force at IssuedAt, as the registry serves them (trust.Evidence).
	Accreditations []trust.Evidence `json:"accreditations"`
	StatusLists    []StatusList     `json:"status_lists"`
	Policy         Policy           `json:"policy"`
	// Passes is the venue's trust for EU DCCs and SMART Health Cards as
	// the files it was configured from (format 2; nil: this venue reads
	// none, and such a pass is red pass_trust_not_in_bundle). They are not
	// anchored: the verifier's signature over the bundle is their
	// authority, as the venue's configuration is online.
	Passes *passcheck.TrustSources `json:"passes,omitempty"`
	// Missing records what the verifier could not put into the bundle
	// (optional; a scanner that predates it ignores it and answers
	// status_list_not_in_bundle instead): the offline check of a pass
	// whose status list it covers is red status_unavailable, not as if
	// the issuer had no such list.
	Missing []Missing `json:"missing,omitempty"`
}

// Missing is a gap in a bundle's status lists, as the verifier recorded
// it when it made the bundle.
type Missing struct {
	// Issuer is the issuer whose status lists the bundle may lack.
	Issuer string `json:"issuer"`
	// URI is the one list left out; empty, any list of Issuer that is not
	// in the bundle.
	URI string `json:"uri,omitempty"`
	// Reason is why, one of the Missing* codes.
	Reason string `json:"reason"`
}

// Reasons of a Missing record.
const (
	// MissingIndex: a status-list index did not answer for the issuer
	// (an error, not 200, not its JSON, or a list of another origin), so
	// the bundle does not know all the issuer's lists.
	MissingIndex = "status_index_unavailable"
	// MissingList: the list's latest anchored version could not be
	// fetched (an error, an answer other than 200 or 404, not its JSON).
	MissingList = "status_list_unavailable"
	// MissingUnverified: the list was served but does not verify as Open
	// verifies it (its anchor, or its token's signature).
	MissingUnverified = "status_list_unverifiable"
	// MissingPending: the list was served with its anchor pending.
	MissingPending = "anchor_pending"
	// MissingIssuer: the registry did not answer with the issuer's
	// anchored DID document and accreditations that verify, so neither
	// it nor its lists are in the bundle.
	MissingIssuer = "issuer_unavailable"
	// MissingOverLimit: the issuer has more lists than one bundle carries
	// (by number or by size); those left out are not named.
	MissingOverLimit = "too_many_status_lists"
)

// Sign returns b signed by s (the verifier's key), kid its DID URL, in
// format FormatVersion.
func Sign(s keys.Signer, kid string, b *Bundle) (string, error) {
	c := *b
	c.Format = FormatVersion
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encoding the bundle: %w", err)
	}
	return jose.Sign(s, map[string]any{"typ": Typ, "kid": kid}, payload)
}

// Verified is a bundle whose every piece verified.
type Verified struct {
	Bundle *Bundle
	docs   map[string]*did.Document
	accs   []trust.Accreditation
	lists  map[string]verifiedList
	// missing holds the Missing records' reasons by issuer and URI (""
	// for all the issuer's lists not in the bundle).
	missing map[[2]string]string
	passes  *passcheck.TrustSet // nil: the bundle carries no pass trust
}

type verifiedList struct {
	issuer string
	list   *statuslist.List
	exp    time.Time
}

func invalid(what string, err error) error {
	return ErrBundleInvalid.With("the trust bundle does not verify: "+what, err)
}

// Open verifies a signed bundle with key (the verifier's public key, which
// the venue's page holds): the signature and typ; then, at IssuedAt, each
// issuer's document (its SHA-256 is its receipt's entry, the receipt and
// the latest-version proof verify against the pinned validators in the
// bundle, the proof shows it is the latest version and was no older than
// ProofMaxAge), each accreditation record (the same, under its record URL),
// and each status list token (the same, under its URI, and the token's
// signature by an assertion key of its issuer's document in the bundle);
// in format 2, the pass trust files parse (passcheck.TrustSources.Load).
// Any failure is bundle_invalid: a tampered bundle is refused as a whole.
// A bundle of a format newer than FormatVersion is bundle_format_unsupported;
// a format-1 bundle (no format member) opens as before and reads SSI1
// codes only.
//
// Open does not look at the bundle's age: Check does, at the time of each
// check.
func Open(signed string, key jose.PublicKey) (*Verified, error) {
	j, err := jose.Verify(signed, jose.VerifyOptions{
		Typ: []string{Typ}, MaxSize: MaxSize,
		Key: func(*jose.Header, []byte) (jose.PublicKey, error) { return key, nil },
	})
	if err != nil {
		return nil, invalid("the signature", err)
	}
	var b Bundle
	if err := jsonx.Unmarshal(j.Payload, &b, false); err != nil {
		return nil, invalid("the content", err)
	}
	switch {
	case b.Format > FormatVersion:
		return nil, ErrBundleFormat
	case b.Format < 0, b.Format < FormatPasses && (b.Passes != nil || b.Policy.Vaccination != nil):
		return nil, invalid("the format", nil)
	}
	if b.MaxAge <= 0 || b.IssuedAt.IsZero() || !strings.HasPrefix(b.Verifier, "did:") {
		return nil, invalid("the header fields", nil)
	}
	v := &Verified{Bundle: &b, docs: map[string]*did.Document{}, lists: map[string]verifiedList{}}
	for _, is := range b.Issuers {
		doc, err := verifyIssuer(&b, is)
		if err != nil {
			return nil, err
		}
		if len(doc.CapabilityInvocation) == 0 { // a deactivated did:psr version
			continue
		}
		v.docs[is.DID] = doc
	}
	for _, ev := range b.Accreditations {
		a, err := verifyAccreditation(&b, ev)
		if err != nil {
			return nil, err
		}
		v.accs = append(v.accs, a)
	}
	for _, sl := range b.StatusLists {
		l, err := verifyList(&b, v.docs, sl)
		if err != nil {
			return nil, err
		}
		v.lists[sl.URI] = l
	}
	v.missing = map[[2]string]string{}
	for _, m := range b.Missing {
		if !strings.HasPrefix(m.Issuer, "did:") || m.Reason == "" {
			return nil, invalid("a missing-list record", nil)
		}
		v.missing[[2]string{m.Issuer, m.URI}] = m.Reason
	}
	if b.Passes != nil {
		t, err := b.Passes.Load()
		if err != nil {
			return nil, invalid("the pass trust", err)
		}
		v.passes = &t
	}
	return v, nil
}

// verifyCurrent checks that a is the anchor of content, the latest version
// of subject when b was made.
func verifyCurrent(b *Bundle, a trust.Anchor, kind, subject string, version uint64, content []byte) error {
	if a.Receipt == nil || a.Latest == nil {
		return invalid("a piece without its anchor", nil)
	}
	sum := sha256.Sum256(content)
	e := a.Receipt.Entry
	if e.Kind != kind || e.Subject != subject || e.Version != version || e.SHA256 != hex.EncodeToString(sum[:]) {
		return invalid("a receipt for other content", nil)
	}
	if _, err := trust.VerifyCurrent(a.Receipt, a.Latest, b.Trust, b.IssuedAt, ProofMaxAge); err != nil {
		return invalid("an anchor", err)
	}
	return nil
}

// verifyIssuer checks is as Open does: its anchor, and its document.
func verifyIssuer(b *Bundle, is Issuer) (*did.Document, error) {
	if err := verifyCurrent(b, is.Anchor, trust.KindDIDDocument, is.DID, is.Version, is.Document); err != nil {
		return nil, err
	}
	doc, err := did.ParseDocument(is.Document)
	if err != nil || doc.ID != is.DID {
		return nil, invalid("an issuer's document", err)
	}
	return doc, nil
}

// verifyAccreditation checks ev as Open does: its record, and its anchor
// under its record URL.
func verifyAccreditation(b *Bundle, ev trust.Evidence) (trust.Accreditation, error) {
	var a trust.Accreditation
	if err := jsonx.Unmarshal(ev.Record, &a, false); err != nil {
		return a, invalid("an accreditation record", err)
	}
	if err := verifyCurrent(b, ev.Anchor, trust.KindAccreditation, strings.TrimSuffix(b.Registry, "/")+"/registry/v1/accreditations/"+a.ID, a.Version, ev.Record); err != nil {
		return a, err
	}
	return a, nil
}

// VerifyIssuer checks, as Open would in b (against b.Trust at
// b.IssuedAt), an issuer's document and its accreditation records: the
// builder's check of each issuer before it enters the bundle, so that one
// the registry served with a pending or broken anchor is left out and
// recorded (MissingIssuer) instead of making the whole bundle one no venue
// opens.
func VerifyIssuer(b *Bundle, is Issuer, accreditations []trust.Evidence) error {
	if _, err := verifyIssuer(b, is); err != nil {
		return err
	}
	for _, ev := range accreditations {
		if _, err := verifyAccreditation(b, ev); err != nil {
			return err
		}
	}
	return nil
}

// verifyList checks sl as Open does: its anchor, and its token signed by
// an assertion key of its issuer's document (in docs).
func verifyList(b *Bundle, docs map[string]*did.Document, sl StatusList) (verifiedList, error) {
	if err := verifyCurrent(b, sl.Anchor, trust.KindStatusList, sl.URI, sl.Version, []byte(sl.Token)); err != nil {
		return verifiedList{}, err
	}
	doc, ok := docs[sl.Issuer]
	if !ok {
		return verifiedList{}, invalid("a status list of an issuer not in the bundle", nil)
	}
	tok, err := statuslist.Verify(sl.Token, statuslist.VerifyOptions{
		URI: sl.URI, Now: func() time.Time { return b.IssuedAt }, RequireExp: true,
		Key: func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			pub, alg, err := doc.PublicKey(h.Kid, did.AssertionMethod)
			if err != nil {
				return jose.PublicKey{}, err
			}
			return jose.PublicKey{Key: pub, Alg: alg}, nil
		},
	})
	if err != nil {
		return verifiedList{}, invalid("a status list token", err)
	}
	return verifiedList{issuer: sl.Issuer, list: tok.List, exp: tok.ExpiresAt}, nil
}

// VerifyStatusLists checks each of b.StatusLists as Open would (its
// anchor against b.Trust at b.IssuedAt, its token by its issuer's document
// among b.Issuers, whose own anchors it does not check: Open does) and
// returns, in the same order, nil for a list that verifies and the reason
// for one that does not: the builder's check, so that one list that does
// not verify is left out and recorded (MissingUnverified) instead of
// making the whole bundle one no venue opens.
func VerifyStatusLists(b *Bundle) []error {
	docs := map[string]*did.Document{}
	for _, is := range b.Issuers {
		if doc, err := did.ParseDocument(is.Document); err == nil && doc.ID == is.DID && len(doc.CapabilityInvocation) > 0 {
			docs[is.DID] = doc
		}
	}
	out := make([]error, len(b.StatusLists))
	for i, sl := range b.StatusLists {
		_, out[i] = verifyList(b, docs, sl)
	}
	return out
}
