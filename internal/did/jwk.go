package did

import (
	"context"
	"encoding/base64"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/keys"
)

// maxJWKIDLen bounds the method-specific id of a did:jwk before decoding.
const maxJWKIDLen = 2048

// JWKResolver resolves did:jwk DIDs locally, with no I/O. A JWK with any
// private member (keys.JWKFromMap's rule: d, p, q, dp, dq, qi, oth, k), an
// unsupported or invalid key, or bad base64url is invalid_did.
type JWKResolver struct{}

var _ Resolver = JWKResolver{}

// JWKDID returns the did:jwk of a public JWK (a keys.JWK never holds
// private material). A JWK whose key does not validate is refused with the
// keys error.
func JWKDID(j keys.JWK) (string, error) {
	if _, err := j.PublicKey(); err != nil {
		return "", err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return "", keys.ErrInvalidKey.With("", err)
	}
	return "did:jwk:" + base64.RawURLEncoding.EncodeToString(b), nil
}

// Resolve implements Resolver for did:jwk (the did:jwk method spec): the
// document has one JsonWebKey2020 method "<did>#0" holding the JWK, with the
// relationships its "use" allows.
func (JWKResolver) Resolve(_ context.Context, did string, _ ResolveOptions) (*Resolution, error) {
	d, err := parseMethod(did, "jwk")
	if err != nil {
		return nil, err
	}
	if len(d.ID) > maxJWKIDLen {
		return nil, ErrInvalidDID.With("the did:jwk is too long", nil)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(d.ID)
	if err != nil {
		return nil, ErrInvalidDID.With("the did:jwk is not base64url", err)
	}
	j, err := keys.ParseJWK(raw)
	if err != nil {
		return nil, ErrInvalidDID.With("the did:jwk does not hold a public JWK", err)
	}
	if _, err := j.PublicKey(); err != nil {
		return nil, ErrInvalidDID.With("the did:jwk key is not a valid public key", err)
	}
	if j.Use != "" && j.Use != "sig" && j.Use != "enc" {
		return nil, ErrInvalidDID.With("the did:jwk key has an unknown use", nil)
	}
	return &Resolution{Document: singleKeyDocument(d.String(), d.String()+"#0", j, j.Use != "enc", j.Use != "sig")}, nil
}
