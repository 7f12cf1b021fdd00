package did

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// ErrUnknownKey means no usable verification method matches a key id: the
// id is malformed or names another DID, no method has it, the method is not
// authorized for the requested relationship, or its key material is
// ambiguous (SECURITY-CASES A6 uses this code for hostile kids). It is
// jose.ErrUnknownKey with the DID wording: one code, one kind.
var ErrUnknownKey = jose.ErrUnknownKey.With("no usable key matches the key id", nil)

// PublicKey finds the verification method named by ref and returns its
// public key and the one JOSE algorithm that key verifies with (ES256,
// ES384 or EdDSA). ref is an absolute DID URL whose DID is d.ID (with a
// fragment and no path or query) or a relative "#fragment". When rel is not
// AnyRelationship, the method must be referenced (or embedded) in that
// relationship, so an issuer-key lookup passes AssertionMethod. A method
// with both or neither of publicKeyJwk and publicKeyMultibase, a JWK whose
// "alg" disagrees with its key, two methods with the same id, or an invalid
// key all fail: ErrUnknownKey, or the keys/did code of the bad key.
func (d *Document) PublicKey(ref string, rel Relationship) (crypto.PublicKey, string, error) {
	target, err := d.absRef(ref)
	if err != nil {
		return nil, "", err
	}
	vm, err := d.find(target, rel)
	if err != nil {
		return nil, "", err
	}
	return MethodKey(vm)
}

// MethodKey returns the validated public key of a verification method and
// its one JOSE algorithm.
func MethodKey(vm *VerificationMethod) (crypto.PublicKey, string, error) {
	var pub crypto.PublicKey
	var err error
	switch {
	case vm.PublicKeyJwk != nil && vm.PublicKeyMultibase != "":
		return nil, "", ErrUnknownKey.With("the verification method has two public keys", nil)
	case vm.PublicKeyJwk != nil:
		pub, err = vm.PublicKeyJwk.PublicKey()
	case vm.PublicKeyMultibase != "":
		pub, err = DecodeMultikey(vm.PublicKeyMultibase)
	default:
		return nil, "", ErrUnknownKey.With("the verification method has no supported public key", nil)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading verification method key: %w", err)
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil {
		return nil, "", err
	}
	if vm.PublicKeyJwk != nil && vm.PublicKeyJwk.Alg != "" && vm.PublicKeyJwk.Alg != alg {
		return nil, "", ErrUnknownKey.With("the JWK alg does not match its key", nil)
	}
	return pub, alg, nil
}

// ResolveKey resolves the DID of kid (an absolute DID URL with a fragment)
// through r and returns the key of the method kid names, which must be
// authorized for rel. It is the verifier's issuer-key lookup: pass
// AssertionMethod. A kid that is not a DID URL with a fragment is
// ErrUnknownKey; resolution errors keep their codes.
func ResolveKey(ctx context.Context, r Resolver, kid string, rel Relationship) (crypto.PublicKey, string, error) {
	u, err := ParseURL(kid)
	if err != nil || !u.HasFragment || u.Path != "" || u.HasQuery {
		return nil, "", ErrUnknownKey.With("the key id is not a DID URL with a fragment", err)
	}
	res, err := r.Resolve(ctx, u.DID.String(), ResolveOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("resolving the key's DID: %w", err)
	}
	return res.Document.PublicKey(kid, rel)
}

// absRef turns a method reference into an absolute DID URL of this
// document.
func (d *Document) absRef(ref string) (string, error) {
	if strings.HasPrefix(ref, "#") {
		ref = d.ID + ref
	}
	u, err := ParseURL(ref)
	if err != nil || !u.HasFragment || u.Path != "" || u.HasQuery || u.DID.String() != d.ID {
		return "", ErrUnknownKey.With("the key id does not name a method of this DID", err)
	}
	return ref, nil
}

func (d *Document) sameID(id, target string) bool {
	if strings.HasPrefix(id, "#") {
		return d.ID+id == target
	}
	return id == target
}

func (d *Document) find(target string, rel Relationship) (*VerificationMethod, error) {
	var found []*VerificationMethod
	listed := false
	if rel != AnyRelationship {
		for _, r := range d.refs(rel) {
			switch {
			case r.Embedded != nil && d.sameID(r.Embedded.ID, target):
				found = append(found, r.Embedded)
			case r.Embedded == nil && d.sameID(r.Ref, target):
				listed = true
			}
		}
		if !listed && len(found) == 0 {
			return nil, ErrUnknownKey.With(fmt.Sprintf("the key is not authorized for %s", rel), nil)
		}
	}
	if rel == AnyRelationship || listed {
		for i := range d.VerificationMethod {
			if d.sameID(d.VerificationMethod[i].ID, target) {
				found = append(found, &d.VerificationMethod[i])
			}
		}
	}
	if rel == AnyRelationship {
		for _, nr := range d.relationships() {
			for _, r := range nr.refs {
				if r.Embedded != nil && d.sameID(r.Embedded.ID, target) {
					found = append(found, r.Embedded)
				}
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, ErrUnknownKey.With("no verification method has this id", nil)
	case 1:
		return found[0], nil
	}
	return nil, ErrUnknownKey.With("two verification methods have this id", nil)
}

// JOSEKeyLookup returns a jose.KeyLookup that takes the JWS header kid as a
// DID URL, resolves it through r, and returns the assertionMethod key it
// names with that key's one algorithm. When issuer is not empty, the kid's
// DID must be exactly issuer, so a token cannot name a key of another DID.
// A missing kid, a kid of another DID and a key that is not an
// assertionMethod are unknown_key; resolution errors keep their codes. The
// unverified payload is never used.
func JOSEKeyLookup(ctx context.Context, r Resolver, issuer string) jose.KeyLookup {
	return func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
		if h.Kid == "" {
			return jose.PublicKey{}, ErrUnknownKey.With("the token has no kid", nil)
		}
		if issuer != "" {
			u, err := ParseURL(h.Kid)
			if err != nil || u.DID.String() != issuer {
				return jose.PublicKey{}, ErrUnknownKey.With("the kid is not a key of the expected issuer", err)
			}
		}
		pub, alg, err := ResolveKey(ctx, r, h.Kid, AssertionMethod)
		if err != nil {
			return jose.PublicKey{}, err
		}
		return jose.PublicKey{Key: pub, Alg: alg}, nil
	}
}
