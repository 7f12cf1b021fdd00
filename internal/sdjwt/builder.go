package sdjwt

import (
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// VCClaims are the claims of an SD-JWT VC (draft-16) as an issuer builds
// them. JSON writes them in a fixed order (iss, vct, iat, nbf, exp, cnf,
// status, then Subject sorted by name) for Request.Claims.
type VCClaims struct {
	Issuer    string // iss, required
	Type      string // vct, required
	IssuedAt  time.Time
	NotBefore time.Time // omitted when zero
	Expiry    time.Time // omitted when zero
	HolderKey *keys.JWK // cnf.jwk, omitted when nil
	Status    *StatusRef
	// Subject holds the other claims; it must not redefine the names above.
	Subject map[string]any
}

// JSON returns the claims object. A missing iss or vct is missing_claim; a
// Subject claim named like a registered claim is claim_collision.
func (c VCClaims) JSON() ([]byte, error) {
	if c.Issuer == "" || c.Type == "" {
		return nil, ErrMissingClaim.With("iss and vct are required", nil)
	}
	o := &object{}
	o.add("iss", c.Issuer)
	o.add("vct", c.Type)
	addTime(o, "iat", c.IssuedAt)
	addTime(o, "nbf", c.NotBefore)
	addTime(o, "exp", c.Expiry)
	if c.HolderKey != nil {
		o.add("cnf", &object{members: []member{{"jwk", jwkNode(*c.HolderKey)}}})
	}
	if c.Status != nil {
		sl := &object{}
		sl.add("idx", leaf(strconv.FormatUint(c.Status.Index, 10)))
		sl.add("uri", c.Status.URI)
		o.add("status", &object{members: []member{{"status_list", sl}}})
	}
	return finish(o, c.Subject, vcReserved)
}

var vcReserved = map[string]bool{"iss": true, "vct": true, "iat": true, "nbf": true, "exp": true, "cnf": true, "status": true, "_sd": true, "_sd_alg": true, "...": true}

// VCDMClaims are a W3C VC Data Model 2.0 credential for ProfileVCDM.
// JSON writes @context (VCDMContext first), type (VerifiableCredential
// first), id, issuer, validFrom, validUntil, credentialStatus, cnf and then
// credentialSubject.
type VCDMClaims struct {
	Contexts   []string // added after VCDMContext
	Types      []string // added after VerifiableCredential
	ID         string   // omitted when empty
	Issuer     string   // required
	ValidFrom  time.Time
	ValidUntil time.Time
	Status     map[string]any // credentialStatus, omitted when nil
	HolderKey  *keys.JWK
	Subject    map[string]any // credentialSubject, required
}

// JSON returns the credential object.
func (c VCDMClaims) JSON() ([]byte, error) {
	if c.Issuer == "" || c.Subject == nil {
		return nil, ErrMissingClaim.With("issuer and credentialSubject are required", nil)
	}
	o := &object{}
	ctx := &array{elems: []node{VCDMContext}}
	for _, s := range c.Contexts {
		ctx.elems = append(ctx.elems, s)
	}
	o.add("@context", ctx)
	typ := &array{elems: []node{"VerifiableCredential"}}
	for _, s := range c.Types {
		typ.elems = append(typ.elems, s)
	}
	o.add("type", typ)
	if c.ID != "" {
		o.add("id", c.ID)
	}
	o.add("issuer", c.Issuer)
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"validFrom", c.ValidFrom}, {"validUntil", c.ValidUntil}} {
		if !f.t.IsZero() {
			o.add(f.name, f.t.UTC().Format(time.RFC3339))
		}
	}
	if c.Status != nil {
		v, err := marshalLeaf(c.Status)
		if err != nil {
			return nil, err
		}
		o.add("credentialStatus", v)
	}
	if c.HolderKey != nil {
		o.add("cnf", &object{members: []member{{"jwk", jwkNode(*c.HolderKey)}}})
	}
	return finish(o, map[string]any{"credentialSubject": c.Subject}, nil)
}

func (o *object) add(name string, v node) { o.members = append(o.members, member{name, v}) }

func addTime(o *object, name string, t time.Time) {
	if !t.IsZero() {
		o.add(name, leaf(strconv.FormatInt(t.Unix(), 10)))
	}
}

func jwkNode(k keys.JWK) *object {
	o := &object{}
	o.add("kty", k.Kty)
	o.add("crv", k.Crv)
	o.add("x", k.X)
	if k.Y != "" {
		o.add("y", k.Y)
	}
	return o
}

func marshalLeaf(v any) (node, error) {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return nil, jose.ErrInvalidClaim.With("a claim cannot be encoded as JSON", err)
	}
	return leaf(b), nil
}

// finish appends extra (sorted by name) to o and encodes it.
func finish(o *object, extra map[string]any, reserved map[string]bool) ([]byte, error) {
	names := make([]string, 0, len(extra))
	for k := range extra {
		if reserved[k] {
			return nil, ErrCollision.With("claim "+strconv.Quote(k)+" is set by the credential fields", nil)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v, err := marshalLeaf(extra[k])
		if err != nil {
			return nil, err
		}
		o.add(k, v)
	}
	w := writer{}
	w.node(o)
	return w.buf, nil
}
