package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// Stable error codes of this package.
var (
	ErrUnsupportedAlg = errs.E(errs.Invalid, "unsupported_alg", "the key algorithm is not supported")
	ErrInvalidKey     = errs.E(errs.Invalid, "invalid_key", "the key is malformed or not a valid public key")
	ErrPrivateJWK     = errs.E(errs.Invalid, "private_jwk", "the JWK contains private key material")
)

// JOSE algorithm names: the one set of them in the module (jose, the
// issuer, the registry and the ledger's writer keys use these).
const (
	ES256 = "ES256"
	ES384 = "ES384"
	EdDSA = "EdDSA"
)

// JWK is the one JSON Web Key type of ssi (RFC 7517), restricted to the
// public members it reads: every JWK on the wire (did:jwk, DID documents,
// registry keys, OpenID4VCI proof and DPoP headers, cnf.jwk) is this type.
// It has no field for private material, and every way of reading one
// (ParseJWK, JWKFromMap, UnmarshalJSON) refuses a JWK that carries any.
// Only EC (P-256, P-384) and OKP (Ed25519) keys convert to a public key;
// RSA members exist so that RFC 7638 thumbprints of RSA keys can be
// computed. It marshals with member order kty, crv, x, y, n, e, alg, kid,
// use, empty members left out.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseJWK decodes a public JWK from untrusted JSON (through jsonx: no
// duplicate members, bounded depth, valid UTF-8) with the rules of
// JWKFromMap. Malformed JSON keeps its jsonx code; JSON that is not an
// object is invalid_type. The key material itself is checked by PublicKey,
// not here.
func ParseJWK(data []byte) (JWK, error) {
	var m map[string]any
	if err := jsonx.Unmarshal(data, &m, false); err != nil {
		return JWK{}, err
	}
	if m == nil {
		return JWK{}, ErrInvalidKey.With("the JWK is not an object", nil)
	}
	return JWKFromMap(m)
}

// JWKFromMap reads a public JWK from a decoded JSON object (a proof
// header's jwk, cnf.jwk). It is the one rule for every JWK ssi reads: a
// private member (d, p, q, dp, dq, qi, oth, or a symmetric k) is
// ErrPrivateJWK whatever its value, null and "" included; kty, crv, x, y,
// n, e, alg, kid and use must be strings when present and kty must be
// there, or it is ErrInvalidKey. Member names are case-exact, so "D" is an
// unknown member, and unknown members are ignored as RFC 7517 requires.
func JWKFromMap(m map[string]any) (JWK, error) {
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return JWK{}, ErrPrivateJWK
		}
	}
	var j JWK
	for _, f := range [...]struct {
		name string
		dst  *string
	}{
		{"kty", &j.Kty}, {"crv", &j.Crv}, {"x", &j.X}, {"y", &j.Y}, {"n", &j.N}, {"e", &j.E},
		{"alg", &j.Alg}, {"kid", &j.Kid}, {"use", &j.Use},
	} {
		v, ok := m[f.name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return JWK{}, ErrInvalidKey.With(fmt.Sprintf("the JWK member %q must be a string", f.name), nil)
		}
		*f.dst = s
	}
	if j.Kty == "" {
		return JWK{}, ErrInvalidKey.With("the JWK has no kty", nil)
	}
	return j, nil
}

// UnmarshalJSON decodes j with ParseJWK, so that a JWK inside a larger
// document (a DID document's publicKeyJwk, a stored registry key) obeys the
// same rule as one parsed alone.
func (j *JWK) UnmarshalJSON(data []byte) error {
	k, err := ParseJWK(data)
	if err != nil {
		return err
	}
	*j = k
	return nil
}

// Map returns the non-empty members of j as a JSON object, for embedding
// into claims or headers (cnf.jwk, a proof header's jwk).
func (j JWK) Map() map[string]any {
	m := map[string]any{"kty": j.Kty}
	for name, v := range map[string]string{"crv": j.Crv, "x": j.X, "y": j.Y, "n": j.N, "e": j.E, "alg": j.Alg, "kid": j.Kid, "use": j.Use} {
		if v != "" {
			m[name] = v
		}
	}
	return m
}

// JWKFromPublic returns the public JWK of pub with only the members RFC 7638
// requires. It accepts *ecdsa.PublicKey on P-256 or P-384 and
// ed25519.PublicKey; anything else is ErrUnsupportedAlg.
func JWKFromPublic(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		crv, size, ok := curveName(k.Curve)
		if !ok {
			return JWK{}, ErrUnsupportedAlg.With("the EC curve is not supported", nil)
		}
		b, err := k.Bytes()
		if err != nil {
			return JWK{}, ErrInvalidKey.With("", err)
		}
		return JWK{Kty: "EC", Crv: crv, X: b64(b[1 : 1+size]), Y: b64(b[1+size:])}, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return JWK{}, ErrInvalidKey.With("the Ed25519 key has the wrong length", nil)
		}
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64(k)}, nil
	default:
		return JWK{}, ErrUnsupportedAlg.With(fmt.Sprintf("keys of type %T are not supported", pub), nil)
	}
}

// PublicKey converts j to a crypto.PublicKey after full validation: the
// coordinates decode as unpadded base64url of exactly the curve's size, EC
// points lie on the curve, and Ed25519 points are canonical, on the curve
// and not of small order. It returns *ecdsa.PublicKey or ed25519.PublicKey;
// any other kty/crv is ErrUnsupportedAlg and bad material ErrInvalidKey.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "EC":
		curve, size, ok := curveByName(j.Crv)
		if !ok {
			return nil, ErrUnsupportedAlg.With("the EC curve is not supported", nil)
		}
		x, errX := unb64(j.X, size)
		y, errY := unb64(j.Y, size)
		if errX != nil || errY != nil {
			return nil, ErrInvalidKey.With("the EC coordinates are malformed", nil)
		}
		point := make([]byte, 0, 1+2*size)
		point = append(append(append(point, 4), x...), y...)
		return ParseECPublicKey(curve, point)
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, ErrUnsupportedAlg.With("the OKP curve is not supported", nil)
		}
		x, err := unb64(j.X, ed25519.PublicKeySize)
		if err != nil {
			return nil, ErrInvalidKey.With("the Ed25519 key is malformed", nil)
		}
		return ParseEd25519PublicKey(x)
	default:
		return nil, ErrUnsupportedAlg.With("the key type is not supported", nil)
	}
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of j, base64url
// without padding. It uses only the required members of the key type (EC:
// crv, kty, x, y; OKP: crv, kty, x; RSA: e, kty, n), in lexicographic order
// and without whitespace. Member values must be base64url (and crv one of
// the known curves), so the canonical form needs no JSON escaping; anything
// else is ErrInvalidKey.
func (j JWK) Thumbprint() (string, error) {
	var canon string
	switch j.Kty {
	case "EC":
		if _, _, ok := curveByName(j.Crv); !ok || !isB64(j.X) || !isB64(j.Y) {
			return "", ErrInvalidKey.With("the EC JWK is incomplete", nil)
		}
		canon = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	case "OKP":
		if j.Crv != "Ed25519" || !isB64(j.X) {
			return "", ErrInvalidKey.With("the OKP JWK is incomplete", nil)
		}
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + j.X + `"}`
	case "RSA":
		if !isB64(j.E) || !isB64(j.N) {
			return "", ErrInvalidKey.With("the RSA JWK is incomplete", nil)
		}
		canon = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	default:
		return "", ErrUnsupportedAlg.With("the key type is not supported", nil)
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:]), nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := JWKFromPublic(pub)
	if err != nil {
		return "", err
	}
	return j.Thumbprint()
}

// AlgorithmFor returns the one JOSE algorithm a public key verifies with:
// ES256 for P-256, ES384 for P-384, EdDSA for Ed25519. Any other key is
// ErrUnsupportedAlg. (ssi signs only with ES256 and EdDSA; ES384 is here so a
// P-384 did:key maps to its alg and the verifier's allow-list can refuse it.)
func AlgorithmFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		}
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", ErrUnsupportedAlg
}

// ParseECPublicKey decodes a SEC 1 point, compressed (0x02/0x03 || X) or
// uncompressed (0x04 || X || Y), on P-256 or P-384. A point that is not on
// the curve, the point at infinity, or a wrong length is ErrInvalidKey.
func ParseECPublicKey(curve elliptic.Curve, point []byte) (*ecdsa.PublicKey, error) {
	_, size, ok := curveName(curve)
	if !ok {
		return nil, ErrUnsupportedAlg.With("the EC curve is not supported", nil)
	}
	if len(point) == 1+size && (point[0] == 2 || point[0] == 3) {
		x, y := elliptic.UnmarshalCompressed(curve, point)
		if x == nil {
			return nil, ErrInvalidKey.With("the EC point is not on the curve", nil)
		}
		u := make([]byte, 1+2*size)
		u[0] = 4
		x.FillBytes(u[1 : 1+size])
		y.FillBytes(u[1+size:])
		point = u
	}
	if len(point) != 1+2*size || point[0] != 4 {
		return nil, ErrInvalidKey.With("the EC point has the wrong encoding", nil)
	}
	k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, ErrInvalidKey.With("the EC point is not on the curve", err)
	}
	return k, nil
}

func curveName(c elliptic.Curve) (name string, size int, ok bool) {
	switch c {
	case elliptic.P256():
		return "P-256", 32, true
	case elliptic.P384():
		return "P-384", 48, true
	}
	return "", 0, false
}

func curveByName(name string) (c elliptic.Curve, size int, ok bool) {
	switch name {
	case "P-256":
		return elliptic.P256(), 32, true
	case "P-384":
		return elliptic.P384(), 48, true
	}
	return nil, 0, false
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unb64 decodes strict unpadded base64url of exactly n bytes.
func unb64(s string, n int) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("decoded %d bytes, want %d", len(b), n)
	}
	return b, nil
}

func isB64(s string) bool {
	if s == "" {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
