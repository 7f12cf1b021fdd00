package jose

import (
	"crypto"
	"errors"

	"github.com/ssi-project/ssi/internal/keys"
)

// Holder keys. The JWK type, its one parsing rule and the algorithm names
// are package keys' (keys.JWK, keys.JWKFromMap, keys.ES256, keys.EdDSA);
// what jose adds is the policy for the keys a JWT may carry for itself:
// the OpenID4VCI proof's and the DPoP proof's header jwk, and an SD-JWT's
// cnf.jwk. Such a key is an EC P-256 key (ES256) or an Ed25519 key (EdDSA),
// and nothing else.

// PublicJWK returns the JWK of an ES256 (*ecdsa.PublicKey on P-256) or
// EdDSA (ed25519.PublicKey) public key, with only the members RFC 7638
// requires; any other key is invalid_jwk.
func PublicJWK(pub crypto.PublicKey) (keys.JWK, error) {
	k, err := keys.JWKFromPublic(pub)
	if err != nil {
		return keys.JWK{}, ErrInvalidJWK.With("", err)
	}
	if !holderKeyType(k) {
		return keys.JWK{}, ErrInvalidJWK.With("only P-256 and Ed25519 keys are supported", nil)
	}
	return k, nil
}

func holderKeyType(k keys.JWK) bool {
	return (k.Kty == "EC" && k.Crv == "P-256") || (k.Kty == "OKP" && k.Crv == "Ed25519" && k.Y == "")
}

// HolderKey reads a holder key from a decoded JSON object (cnf.jwk or a
// proof header's jwk) with the rule of keys.JWKFromMap: any private
// member (d, RSA primes, a symmetric k), whatever its value, is
// private_jwk. A malformed member, a key type other than P-256 or Ed25519,
// invalid key material, or an alg member that is not the key type's one
// algorithm is invalid_jwk. Other members (kid, use, key_ops) are ignored
// per RFC 7517 (when they are strings), and the JWK returned has only kty,
// crv, x and y. It returns the JWK and the verification key with its one
// algorithm.
func HolderKey(m map[string]any) (keys.JWK, PublicKey, error) {
	k, err := keys.JWKFromMap(m)
	switch {
	case errors.Is(err, keys.ErrPrivateJWK):
		return keys.JWK{}, PublicKey{}, err
	case err != nil:
		return keys.JWK{}, PublicKey{}, ErrInvalidJWK.With("", err)
	case !holderKeyType(k):
		return keys.JWK{}, PublicKey{}, ErrInvalidJWK.With("unsupported kty or crv", nil)
	}
	pub, err := k.PublicKey()
	if err != nil {
		return keys.JWK{}, PublicKey{}, ErrInvalidJWK.With("", err)
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil {
		return keys.JWK{}, PublicKey{}, ErrInvalidJWK.With("", err)
	}
	if k.Alg != "" && k.Alg != alg {
		return keys.JWK{}, PublicKey{}, ErrInvalidJWK.With("the JWK alg does not match its key type", nil)
	}
	return keys.JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, Y: k.Y}, PublicKey{Key: pub, Alg: alg}, nil
}
