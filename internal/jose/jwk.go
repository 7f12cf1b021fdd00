package jose

import (
	"crypto"
	"encoding/base64"
	"fmt"

	"github.com/ssi-project/ssi/internal/keys"
)

// Algorithms ssi signs and verifies with. Each key type works with exactly
// one of them.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// JWK is a public JSON Web Key as ssi uses it: an EC P-256 key (kty "EC")
// or an Ed25519 key (kty "OKP"). It is a plain struct, not a jwx jwk.Key,
// so it marshals with member order kty, crv, x, y and never carries private
// material. Build one with PublicJWK or ParseJWK.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
}

var b64 = base64.RawURLEncoding.Strict()

// PublicJWK returns the JWK of an ES256 (*ecdsa.PublicKey on P-256) or
// EdDSA (ed25519.PublicKey) public key; any other key is invalid_jwk. The
// conversion is keys.JWKFromPublic's.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	k, err := keys.JWKFromPublic(pub)
	if err != nil {
		return JWK{}, ErrInvalidJWK.With("", err)
	}
	j := JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, Y: k.Y}
	if !j.supported() {
		return JWK{}, ErrInvalidJWK.With("only P-256 and Ed25519 keys are supported", nil)
	}
	return j, nil
}

func (k JWK) supported() bool {
	return (k.Kty == "EC" && k.Crv == "P-256") || (k.Kty == "OKP" && k.Crv == "Ed25519" && k.Y == "")
}

// Map returns the JWK as a map, for embedding into claims such as cnf.jwk.
func (k JWK) Map() map[string]any {
	m := map[string]any{"kty": k.Kty, "crv": k.Crv, "x": k.X}
	if k.Y != "" {
		m["y"] = k.Y
	}
	return m
}

// Alg returns the one algorithm the key works with.
func (k JWK) Alg() string {
	if k.Kty == "OKP" {
		return EdDSA
	}
	return ES256
}

// Thumbprint returns the base64url RFC 7638 SHA-256 thumbprint of k (as
// keys.JWK.Thumbprint computes it), or "" for a JWK PublicKey refuses.
func (k JWK) Thumbprint() string {
	tp, err := keys.JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, Y: k.Y}.Thumbprint()
	if err != nil || !k.supported() {
		return ""
	}
	return tp
}

// PublicKey returns k as a crypto.PublicKey (*ecdsa.PublicKey on P-256 or
// ed25519.PublicKey), validated by keys.JWK.PublicKey: strict base64url of
// the exact size, the point on the curve, Ed25519 canonical and not of small
// order. Anything else is invalid_jwk.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	if !k.supported() {
		return nil, ErrInvalidJWK.With("unsupported kty or crv", nil)
	}
	pub, err := keys.JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, Y: k.Y}.PublicKey()
	if err != nil {
		return nil, ErrInvalidJWK.With("", err)
	}
	return pub, nil
}

// privateMembers are JWK members that carry private or symmetric material.
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// JWKFromClaims reads a public JWK from a decoded JSON object (for example
// cnf.jwk or a proof header's jwk). Any private member (`d`, RSA primes, a
// symmetric `k`) is private_jwk; a missing or non-string kty/crv/x/y, an
// unsupported key type, or an `alg` member that disagrees with the key type
// is invalid_jwk. Other members (kid, use, key_ops) are ignored per RFC 7517.
// It returns the JWK and the parsed key.
func JWKFromClaims(m map[string]any) (JWK, crypto.PublicKey, error) {
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return JWK{}, nil, ErrPrivateJWK
		}
	}
	str := func(name string) (string, error) {
		v, ok := m[name]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", ErrInvalidJWK.With(fmt.Sprintf("member %q must be a string", name), nil)
		}
		return s, nil
	}
	var k JWK
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"kty", &k.Kty}, {"crv", &k.Crv}, {"x", &k.X}, {"y", &k.Y}} {
		if *f.dst, err = str(f.name); err != nil {
			return JWK{}, nil, err
		}
	}
	pub, err := k.PublicKey()
	if err != nil {
		return JWK{}, nil, err
	}
	alg, err := str("alg")
	if err != nil {
		return JWK{}, nil, err
	}
	if alg != "" && alg != k.Alg() {
		return JWK{}, nil, ErrInvalidJWK.With("the JWK alg does not match its key type", nil)
	}
	return k, pub, nil
}

// ParseJWK parses a JSON JWK (after jsonx.Check) with the rules of
// JWKFromClaims.
func ParseJWK(data []byte) (JWK, crypto.PublicKey, error) {
	c, err := ParseClaims(data)
	if err != nil {
		return JWK{}, nil, err
	}
	return JWKFromClaims(c)
}
