package sdjwt

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// SaltFunc returns the salt for the disclosure of the claim at ptr (a JSON
// Pointer into the input claims). The default draws 128 bits from
// crypto/rand; tests inject the RFC 9901 salts through it.
type SaltFunc func(ptr string) (string, error)

// NewSalt returns 128 random bits from crypto/rand, base64url-encoded.
func NewSalt() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "drawing a salt", err)
	}
	return b64.EncodeToString(b[:]), nil
}

// Issuer creates SD-JWTs. Signer is required; the rest has defaults.
type Issuer struct {
	Signer keys.Signer
	// Profile decides typ and the claim rules; the zero value is SD-JWT VC.
	Profile Profile
	// Typ overrides the profile's header typ (for example "example+sd-jwt"
	// for the RFC 9901 vectors).
	Typ string
	// Header holds extra protected header members; kid defaults to
	// Signer.KeyID(). alg and typ cannot be set here.
	Header map[string]any
	// HashAlg is the _sd_alg: sha-256 (default), sha-384 or sha-512.
	HashAlg string
	// Salt overrides salt generation (see SaltFunc).
	Salt SaltFunc
	// Spaced writes disclosures and the payload with ", " and ": " between
	// members, like the RFC 9901 examples; the default is compact JSON.
	Spaced bool
}

// Request is one credential to issue.
type Request struct {
	// Claims is the JSON object of all claims, in the order they should
	// appear. It must not contain _sd, _sd_alg or "..." members.
	Claims []byte
	// Disclose lists JSON Pointers (RFC 6901) into Claims of the object
	// members and array elements to make selectively disclosable. A pointer
	// below another one yields a recursive disclosure. Every pointer must
	// name a claim (else unknown_claim_path).
	Disclose []string
	// Decoys is the number of decoy digests added to every _sd array.
	Decoys int
}

// Issued is the result of Issue.
type Issued struct {
	Parts Parts
	// Disclosures in the order they appear in Parts, each with the pointer
	// of its claim in the input as Path (Value is not set here; the
	// disclosure's JSON is in Encoded).
	Disclosures []*Disclosure
	// Payload is the signed JWT payload.
	Payload []byte
}

// String returns the compact SD-JWT, ending in ~.
func (is *Issued) String() string { return is.Parts.SDJWT() }

// Issue builds, checks and signs one SD-JWT. It refuses a request that
// makes a HAIP-protected claim disclosable (non_disclosable_claim), breaks
// the profile's required claims (missing_claim), uses a reserved name
// (invalid_disclosure_name), names a missing claim (unknown_claim_path) or
// exceeds the limits (too_many_disclosures, disclosure_too_deep).
func (i *Issuer) Issue(req Request) (*Issued, error) {
	if i.Signer == nil {
		return nil, errs.E(errs.Internal, "internal", "the issuer has no signer")
	}
	alg := i.HashAlg
	if alg == "" {
		alg = SHA256
	}
	if _, ok := hashFor(alg); !ok {
		return nil, ErrUnsupportedSDAlg
	}
	claims, err := jose.ParseClaims(req.Claims)
	if err != nil {
		return nil, fmt.Errorf("reading the claims: %w", err)
	}
	if err := i.Profile.checkClaims(claims); err != nil {
		return nil, err
	}
	if cnf, ok := claims["cnf"]; ok {
		if _, err := holderKey(cnf); err != nil {
			return nil, err
		}
	}
	root, err := parseOrdered(req.Claims) // checked by ParseClaims above
	if err != nil {
		return nil, err
	}
	top, ok := root.(*object)
	if !ok {
		return nil, jose.ErrInvalidClaim.With("the claims are not a JSON object", nil)
	}
	if len(req.Disclose) > MaxDisclosures {
		return nil, ErrTooManyDisclosures
	}
	st := &issuance{
		alg: alg, salt: i.Salt, spaced: i.Spaced, decoys: req.Decoys,
		disclose: make(map[string]bool, len(req.Disclose)), reserved: i.Profile.reserved(),
	}
	if st.salt == nil {
		st.salt = func(string) (string, error) { return NewSalt() }
	}
	for _, p := range req.Disclose {
		st.disclose[p] = false
	}
	out, err := st.object(top, "", 0, true)
	if err != nil {
		return nil, err
	}
	for p, used := range st.disclose {
		if !used {
			return nil, ErrUnknownPath.With("no claim at "+strconv.Quote(p), nil)
		}
	}
	out.members = append(out.members, member{"_sd_alg", alg})
	w := writer{spaced: i.Spaced}
	w.node(out)

	header := make(map[string]any, len(i.Header)+2)
	header["kid"] = i.Signer.KeyID()
	for k, v := range i.Header {
		if k == "alg" || k == "typ" {
			return nil, errs.E(errs.Internal, "internal", "alg and typ are set by the issuer")
		}
		header[k] = v
	}
	header["typ"] = i.typ()
	jwt, err := jose.Sign(i.Signer, header, w.buf)
	if err != nil {
		return nil, fmt.Errorf("signing the SD-JWT: %w", err)
	}
	res := &Issued{Parts: Parts{IssuerJWT: jwt}, Disclosures: st.out, Payload: w.buf}
	for _, d := range st.out {
		res.Parts.Disclosures = append(res.Parts.Disclosures, d.Encoded)
	}
	return res, nil
}

func (i *Issuer) typ() string {
	if i.Typ != "" {
		return i.Typ
	}
	return i.Profile.typ()
}

type issuance struct {
	alg      string
	salt     SaltFunc
	spaced   bool
	decoys   int
	disclose map[string]bool // pointer → used
	reserved map[string]bool
	out      []*Disclosure
}

func (st *issuance) want(ptr string) bool {
	if _, ok := st.disclose[ptr]; ok {
		st.disclose[ptr] = true
		return true
	}
	return false
}

func (st *issuance) object(o *object, ptr string, depth int, top bool) (*object, error) {
	res := &object{members: make([]member, 0, len(o.members)+1)}
	var digests []string
	for _, m := range o.members {
		if m.name == "_sd" || m.name == "..." || m.name == "_sd_alg" {
			return nil, ErrReservedName
		}
		p := ptr + "/" + escape(m.name)
		sd := st.want(p)
		d := depth
		if sd {
			if top && (nonDisclosable[m.name] || st.reserved[m.name]) {
				return nil, ErrNonDisclosable.With("claim "+strconv.Quote(m.name)+" can never be selectively disclosable", nil)
			}
			if d++; d > MaxRecursion {
				return nil, ErrTooDeep
			}
		}
		v, err := st.value(m.val, p, d)
		if err != nil {
			return nil, err
		}
		if !sd {
			res.members = append(res.members, member{m.name, v})
			continue
		}
		dg, err := st.disclosure(p, m.name, true, v)
		if err != nil {
			return nil, err
		}
		digests = append(digests, dg)
	}
	if len(digests) == 0 {
		return res, nil
	}
	for range st.decoys {
		s, err := NewSalt()
		if err != nil {
			return nil, err
		}
		digests = append(digests, digest(st.alg, s))
	}
	slices.Sort(digests)
	sd := &array{elems: make([]node, len(digests))}
	for k, dg := range digests {
		sd.elems[k] = dg
	}
	res.members = append([]member{{"_sd", sd}}, res.members...)
	return res, nil
}

func (st *issuance) value(n node, ptr string, depth int) (node, error) {
	switch t := n.(type) {
	case *object:
		return st.object(t, ptr, depth, false)
	case *array:
		res := &array{elems: make([]node, 0, len(t.elems))}
		for k, e := range t.elems {
			p := ptr + "/" + strconv.Itoa(k)
			sd := st.want(p)
			d := depth
			if sd {
				if d++; d > MaxRecursion {
					return nil, ErrTooDeep
				}
			}
			v, err := st.value(e, p, d)
			if err != nil {
				return nil, err
			}
			if !sd {
				res.elems = append(res.elems, v)
				continue
			}
			dg, err := st.disclosure(p, "", false, v)
			if err != nil {
				return nil, err
			}
			res.elems = append(res.elems, &object{members: []member{{"...", dg}}})
		}
		return res, nil
	}
	return n, nil
}

// disclosure encodes [salt, name, value] (or [salt, value]) and records it.
func (st *issuance) disclosure(ptr, name string, named bool, v node) (string, error) {
	if len(st.out) >= MaxDisclosures {
		return "", ErrTooManyDisclosures
	}
	salt, err := st.salt(ptr)
	if err != nil {
		return "", fmt.Errorf("drawing a salt: %w", err)
	}
	w := writer{spaced: st.spaced, buf: make([]byte, 0, 64)}
	w.buf = append(w.buf, '[')
	w.str(salt)
	w.comma()
	if named {
		w.str(name)
		w.comma()
	}
	w.node(v)
	w.buf = append(w.buf, ']')
	enc := b64.EncodeToString(w.buf)
	d := &Disclosure{Encoded: enc, Digest: digest(st.alg, enc), Salt: salt, Name: name, IsArrayElement: !named, Path: ptr}
	st.out = append(st.out, d)
	return d.Digest, nil
}
