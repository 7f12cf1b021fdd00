package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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
// EdDSA (ed25519.PublicKey) public key; any other key is invalid_jwk.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return JWK{}, ErrInvalidJWK.With("only P-256 EC keys are supported", nil)
		}
		raw, err := k.Bytes()
		if err != nil {
			return JWK{}, ErrInvalidJWK.With("", err)
		}
		return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:65])}, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return JWK{}, ErrInvalidJWK.With("bad Ed25519 key length", nil)
		}
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	}
	return JWK{}, ErrInvalidJWK.With(fmt.Sprintf("unsupported key type %T", pub), nil)
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

// Thumbprint returns the base64url RFC 7638 SHA-256 thumbprint of k.
func (k JWK) Thumbprint() string {
	var s string
	if k.Kty == "OKP" {
		s = `{"crv":"` + k.Crv + `","kty":"OKP","x":"` + k.X + `"}`
	} else {
		s = `{"crv":"` + k.Crv + `","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// PublicKey returns k as a crypto.PublicKey (*ecdsa.PublicKey or
// ed25519.PublicKey). A point off the curve, a wrong length or an unknown
// kty/crv is invalid_jwk.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	switch {
	case k.Kty == "EC" && k.Crv == "P-256":
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, ErrInvalidJWK.With("bad P-256 coordinates", nil)
		}
		raw := make([]byte, 0, 65)
		raw = append(append(append(raw, 4), x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, ErrInvalidJWK.With("the point is not on P-256", err)
		}
		return pub, nil
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize || k.Y != "" {
			return nil, ErrInvalidJWK.With("bad Ed25519 key", err)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, ErrInvalidJWK.With("unsupported kty or crv", nil)
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
