package sdjwt

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"unsafe"

	"github.com/ssi-project/ssi/internal/jose"
)

var b64 = base64.RawURLEncoding.Strict()

// Hash algorithms accepted for `_sd_alg` (IANA Named Information names).
// Anything else, including md5 and truncated names, is refused.
const (
	SHA256 = "sha-256"
	SHA384 = "sha-384"
	SHA512 = "sha-512"
)

func hashFor(alg string) (func() hash.Hash, bool) {
	switch alg {
	case SHA256:
		return sha256.New, true
	case SHA384:
		return sha512.New384, true
	case SHA512:
		return sha512.New, true
	}
	return nil, false
}

// digest returns base64url(H(ascii(s))).
func digest(alg string, s string) string {
	if alg == SHA256 {
		sum := sha256.Sum256(readOnlyBytes(s))
		return b64.EncodeToString(sum[:])
	}
	newH, _ := hashFor(alg)
	h := newH()
	h.Write(readOnlyBytes(s))
	return b64.EncodeToString(h.Sum(nil))
}

// sdHash returns the KB-JWT sd_hash of p: base64url(H(<JWT>~<D1>~…~<Dn>~)),
// hashed piecewise so the string is never assembled.
func sdHash(alg string, p Parts) string {
	newH, _ := hashFor(alg)
	h := newH()
	tilde := []byte{'~'}
	h.Write(readOnlyBytes(p.IssuerJWT))
	h.Write(tilde)
	for _, d := range p.Disclosures {
		h.Write(readOnlyBytes(d))
		h.Write(tilde)
	}
	return b64.EncodeToString(h.Sum(nil))
}

// readOnlyBytes returns the bytes of s without copying. The result must
// only be read (here: hashed); presentations are hashed twice per verify and
// are up to DefaultMaxSize long, so the copy is worth avoiding.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Disclosure is one decoded disclosure.
type Disclosure struct {
	// Encoded is the base64url form as it travels in the SD-JWT.
	Encoded string
	// Digest is base64url(H(Encoded)) under the SD-JWT's _sd_alg.
	Digest string
	Salt   string
	// Name is the claim name of an object property disclosure; empty for
	// an array element (see IsArrayElement).
	Name           string
	IsArrayElement bool
	// Value is the disclosed value in the jose.Claims representation.
	Value any
	// Path is the JSON Pointer (RFC 6901) of the claim in the processed
	// payload; set after processing.
	Path string
}

// decodeDisclosure parses one base64url disclosure: a JSON array of
// [salt, name, value] or [salt, value] whose salt and name are strings.
func decodeDisclosure(enc, alg string) (*Disclosure, error) {
	raw, err := b64.DecodeString(enc)
	if err != nil || len(raw) == 0 {
		return nil, ErrMalformedDisclosure.With("a disclosure is not base64url", err)
	}
	v, err := jose.ParseValueOwned(raw) // raw is ours and never modified
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || (len(arr) != 2 && len(arr) != 3) {
		return nil, ErrMalformedDisclosure.With("a disclosure is an array of 2 or 3 elements", nil)
	}
	d := &Disclosure{Encoded: enc, Digest: digest(alg, enc)}
	if d.Salt, ok = arr[0].(string); !ok {
		return nil, ErrMalformedDisclosure.With("the salt is not a string", nil)
	}
	if len(arr) == 2 {
		d.IsArrayElement = true
		d.Value = arr[1]
		return d, nil
	}
	if d.Name, ok = arr[1].(string); !ok {
		return nil, ErrMalformedDisclosure.With("the claim name is not a string", nil)
	}
	if d.Name == "_sd" || d.Name == "..." {
		return nil, ErrReservedName
	}
	d.Value = arr[2]
	return d, nil
}
