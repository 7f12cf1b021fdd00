package did

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/binary"

	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multicodec"

	"github.com/ssi-project/ssi/internal/keys"
)

// maxMultikeyLen bounds a multibase key before base58 decoding (which is
// quadratic in its input). The longest key we accept, P-384, is 70
// characters.
const maxMultikeyLen = 128

// KeyResolver resolves did:key DIDs (Ed25519, P-256, P-384) locally, with no
// I/O. Any other key type, an off-curve or small-order key, or a malformed
// multibase/multicodec value is invalid_did.
type KeyResolver struct{}

var _ Resolver = KeyResolver{}

// KeyDID returns the did:key of pub (ed25519.PublicKey, or *ecdsa.PublicKey
// on P-256 or P-384, encoded as a compressed point).
func KeyDID(pub crypto.PublicKey) (string, error) {
	mk, err := EncodeMultikey(pub)
	if err != nil {
		return "", err
	}
	return "did:key:" + mk, nil
}

// EncodeMultikey returns the base58btc multibase multicodec encoding of pub
// ("z6Mk…" for Ed25519, "zDn…" for P-256, "z82…" for P-384), as used in
// did:key and in publicKeyMultibase.
func EncodeMultikey(pub crypto.PublicKey) (string, error) {
	var code multicodec.Code
	var raw []byte
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", keys.ErrInvalidKey
		}
		code, raw = multicodec.Ed25519Pub, k
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			code = multicodec.P256Pub
		case elliptic.P384():
			code = multicodec.P384Pub
		default:
			return "", keys.ErrUnsupportedAlg
		}
		u, err := k.Bytes()
		if err != nil {
			return "", keys.ErrInvalidKey.With("", err)
		}
		size := (len(u) - 1) / 2
		raw = make([]byte, 1+size)
		raw[0] = 2 | u[len(u)-1]&1
		copy(raw[1:], u[1:1+size])
	default:
		return "", keys.ErrUnsupportedAlg
	}
	b := binary.AppendUvarint(nil, uint64(code))
	return multibase.Encode(multibase.Base58BTC, append(b, raw...))
}

// DecodeMultikey decodes a base58btc multibase multicodec public key and
// validates it (on the curve, not of small order). Every failure is
// invalid_did, wrapping the keys error as its cause.
func DecodeMultikey(s string) (crypto.PublicKey, error) {
	if len(s) > maxMultikeyLen || len(s) < 2 || s[0] != 'z' {
		return nil, ErrInvalidDID.With("the key is not a base58btc multibase value", nil)
	}
	enc, b, err := multibase.Decode(s)
	if err != nil || enc != multibase.Base58BTC {
		return nil, ErrInvalidDID.With("the key is not a base58btc multibase value", err)
	}
	code, n := binary.Uvarint(b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, code)) {
		return nil, ErrInvalidDID.With("the key has a malformed multicodec prefix", nil)
	}
	raw := b[n:]
	var pub crypto.PublicKey
	switch multicodec.Code(code) {
	case multicodec.Ed25519Pub:
		pub, err = keys.ParseEd25519PublicKey(raw)
	case multicodec.P256Pub:
		pub, err = compressedEC(elliptic.P256(), 33, raw)
	case multicodec.P384Pub:
		pub, err = compressedEC(elliptic.P384(), 49, raw)
	default:
		return nil, ErrInvalidDID.With("the key type is not supported", nil)
	}
	if err != nil {
		return nil, ErrInvalidDID.With("the key is not a valid public key", err)
	}
	return pub, nil
}

// compressedEC accepts only the compressed point form that did:key
// requires.
func compressedEC(c elliptic.Curve, size int, raw []byte) (crypto.PublicKey, error) {
	if len(raw) != size {
		return nil, keys.ErrInvalidKey.With("the EC key must be a compressed point", nil)
	}
	return keys.ParseECPublicKey(c, raw)
}

// Resolve implements Resolver for did:key. The document has one
// JsonWebKey2020 verification method, "<did>#<multibase>", referenced from
// authentication, assertionMethod, capabilityInvocation and
// capabilityDelegation. (ssi does no key agreement, so keyAgreement is left
// out.)
func (KeyResolver) Resolve(_ context.Context, did string, _ ResolveOptions) (*Resolution, error) {
	d, err := parseMethod(did, "key")
	if err != nil {
		return nil, err
	}
	pub, err := DecodeMultikey(d.ID)
	if err != nil {
		return nil, err
	}
	jwk, err := keys.JWKFromPublic(pub)
	if err != nil {
		return nil, ErrInvalidDID.With("", err)
	}
	return &Resolution{Document: singleKeyDocument(d.String(), d.String()+"#"+d.ID, jwk, true, false)}, nil
}

// singleKeyDocument is the document shape shared by did:key and did:jwk:
// one JsonWebKey2020 method, referenced from the four signing relationships
// when signing is set and from keyAgreement when agreement is set.
func singleKeyDocument(did, vmID string, jwk keys.JWK, signing, agreement bool) *Document {
	ref := []MethodRef{{Ref: vmID}}
	doc := &Document{
		Context: []any{ContextV1, "https://w3id.org/security/suites/jws-2020/v1"},
		ID:      did,
		VerificationMethod: []VerificationMethod{{
			ID: vmID, Type: TypeJSONWebKey2020, Controller: did, PublicKeyJwk: &jwk,
		}},
	}
	if signing {
		doc.Authentication, doc.AssertionMethod = ref, ref
		doc.CapabilityInvocation, doc.CapabilityDelegation = ref, ref
	}
	if agreement {
		doc.KeyAgreement = ref
	}
	return doc
}
